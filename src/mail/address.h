/* address.h — RFC 5321 mailbox parser and printer: §4.1.2 Mailbox
   (Dot-string or Quoted-string local part, domain or address literal),
   §4.5.3.1 size limits, and RFC 6531 UTF-8 only when the caller allows it.
   Pure: no I/O, no globals, no logging. The input is (ptr, len) from the
   wire and may hold anything: NUL, controls, broken UTF-8 are refused. */
#ifndef PETREL_ADDRESS_H
#define PETREL_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 §4.5.3.1.1 says 64 octets, but real bounce addresses (VERP,
   SRS, bulk senders' return paths) run longer and Postfix sets no limit;
   refusing them would lose mail. §4.5.3.1 asks for no limits "to the
   maximum extent possible": 128, counted as written (quotes included). */
#define ADDRESS_MAX_LOCAL	128
/* RFC 5321 §4.5.3.1.2, counted on the A-label (ASCII) form. */
#define ADDRESS_MAX_DOMAIN	255
/* RFC 1035 §2.3.4, counted on the A-label form for U-labels. */
#define ADDRESS_MAX_LABEL	63
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle
   brackets, so a mailbox is at most ADDRESS_MAX_PATH - 2. */
#define ADDRESS_MAX_PATH	256

struct address {
	/* Decoded: the quotes and quoted-pair backslashes are gone, so
	   "\"a b\"@x" gives "a b". Never contains NUL or control bytes. */
	char *local;
	/* Lower-cased ASCII letters (UTF-8 labels are otherwise kept as
	   given). An address literal is kept in canonical form with its
	   brackets: "[192.0.2.1]", "[IPv6:2001:db8::1]". */
	char *domain;
	bool local_quoted;	/* written as a Quoted-string */
	bool domain_is_literal;	/* [IPv4] or [IPv6:...] */
	bool is_utf8;		/* some byte >= 0x80 (RFC 6531) */
	/* '%', '!' or '@' in the local part: the old source-routing
	   conventions ("a%b@relay", "b!a@relay", "\"a@b\"@relay") that turn
	   a careless server into an open relay. Never reinterpret them. */
	bool relay_hack;
};

/* Parses one RFC 5321 Mailbox (no angle brackets) from s[0..len).
   allow_utf8: RFC 6531 UTF-8 in the local part and the domain (the
   caller decides, e.g. from SMTPUTF8); without it any byte >= 0x80 is an
   error. Returns 0 with *addr_r filled (free with address_clear), or -1
   with *error_r set to a static English reason and *addr_r zeroed. */
int address_parse(const char *s, size_t len, bool allow_utf8,
    struct address *addr_r, const char **error_r);
/* Frees the strings and zeroes addr; accepts a zeroed struct. */
void address_clear(struct address *addr);

/* "local@domain", the local part re-quoted only when it is not a valid
   Dot-string (so "\"abc\"@x" prints as "abc@x"). Heap string for the
   caller to free. */
char *address_to_string(const struct address *addr);
/* Whether a decoded local part needs a Quoted-string to be written. */
bool address_local_needs_quotes(const char *local);
/* The relay_hack rule on a decoded local part: '%', '!' or '@'. */
bool address_local_is_relay_hack(const char *local);

/* Plus-addressing: "user+tag" gives base "user" (the first *base_len_r
   bytes of local) and *tag_r pointing at "tag" inside local; the first
   '+' splits, so "a+b+c" gives "a" and "b+c"; "user+" has an empty tag.
   Returns false (and *base_len_r = strlen(local), *tag_r = NULL) when
   there is no tag, including a local part that starts with '+'. */
bool address_local_split_plus(const char *local, size_t *base_len_r,
    const char **tag_r);
#endif
