/* directory_relay.h — relay rules (NethServer's "Relay" page): where mail
   for other domains goes instead of the recipient domain's MX. Recipient
   rules, sender rules and one default rule (the smarthost), evaluated
   Recipient → Sender → Default, each by exact address before domain, a
   domain also matching its subdomains (the longest suffix wins).

   A rule may carry SMTP AUTH credentials. The password is sealed at rest
   (libsodium crypto_secretbox, XSalsa20-Poly1305) under a key in
   DATA/relay.key (32 random bytes, created 0600 on first use), so a copy
   of directory.db alone, a backup say, does not reveal it; the list
   functions never open it. Writes block on the disk (CLI, worker pool). */
#ifndef PETREL_DIRECTORY_RELAY_H
#define PETREL_DIRECTORY_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;
struct directory_error;		/* directory_admin.h */

enum directory_relay_kind {
	DIRECTORY_RELAY_RECIPIENT,
	DIRECTORY_RELAY_SENDER,
	DIRECTORY_RELAY_DEFAULT,
};

struct directory_relay {
	int64_t id;
	enum directory_relay_kind kind;
	char *match;		/* lower-case address or domain; "" default */
	char *host;		/* host name or IP literal */
	uint16_t port;
	bool tls_required;	/* STARTTLS with a verified certificate */
	char *username;		/* SMTP AUTH, or NULL */
	char *password;		/* opened by directory_relay_match only;
				   wiped by directory_relay_clear */
	bool has_password;
};

/* Adds a recipient or sender rule (rule->id ignored; match normalised),
   or, for DIRECTORY_RELAY_DEFAULT, sets the default rule (replacing it).
   password NULL: none. 0 with *id_r (may be NULL), or -1 (EXISTS when a
   rule of that kind and match is there). */
int directory_relay_add(struct directory *dir,
    const struct directory_relay *rule, const char *password, int64_t *id_r,
    struct directory_error *err);
/* Deletes rule id, or the default rule (id 0 with is_default). 0, or -1
   (NOT_FOUND). */
int directory_relay_del(struct directory *dir, int64_t id, bool is_default,
    struct directory_error *err);
/* Every rule: recipient rules, sender rules, then the default; without
   passwords. Free with directory_relay_list_free. */
int directory_relay_list(struct directory *dir,
    struct directory_relay **rules_r, size_t *n_r,
    struct directory_error *err);
/* The rule for a message from sender ("" for the null sender) to rcpt:
   1 with *rule_r (password opened; directory_relay_clear), 0 when none
   applies (deliver by MX), -1 on error (a key that cannot open the
   password is an error, not a silent unauthenticated relay). */
int directory_relay_match(struct directory *dir, const char *sender,
    const char *rcpt, struct directory_relay *rule_r,
    struct directory_error *err);

/* "recipient", "sender", "default". */
const char *directory_relay_kind_name(enum directory_relay_kind kind);
void directory_relay_clear(struct directory_relay *rule);
void directory_relay_list_free(struct directory_relay *rules, size_t n);
#endif
