/* imap_arg.h — one parsed IMAP command (RFC 9051 §2.2.1, §9): its tag, its
   name and its arguments as a tree of atoms, strings and lists. Made by
   imap_parser.c; read by the typed parsers (imap_seqset, imap_search,
   imap_fetch_items) and the commands of src/imapd/. */
#ifndef PETREL_IMAP_ARG_H
#define PETREL_IMAP_ARG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum imap_arg_type {
	/* An atom: also numbers, sequence sets, flags ("\Seen", "\*") and
	   fetch attributes. An atom that contains '[' runs to the matching
	   ']' (spaces and parentheses included) and on to the next space,
	   so "BODY[HEADER.FIELDS (From To)]<0.100>" is one atom. */
	IMAP_ARG_ATOM,
	IMAP_ARG_QUOTED,	/* "...": unescaped, never NUL */
	IMAP_ARG_LITERAL,	/* {n}, {n+}, {n-}: never NUL */
	IMAP_ARG_LITERAL8,	/* ~{n} (BINARY, APPEND): NUL allowed */
	IMAP_ARG_NIL,		/* the atom NIL, any case */
	IMAP_ARG_LIST,		/* ( ... ) */
};

struct imap_arg {
	enum imap_arg_type type;
	/* ATOM, QUOTED, LITERAL, LITERAL8: the octets, NUL-terminated
	   (LITERAL8 may hold NULs: use len). NIL: the atom as sent ("nil"),
	   since "NIL" is also a valid astring (a password, a mailbox).
	   NULL for LIST. */
	const char *str;
	size_t len;
	/* LIST: its elements. */
	const struct imap_arg *list;
	size_t n_list;
};

struct imap_command {
	const char *tag;
	const char *name;	/* as sent: compare case-insensitively */
	const struct imap_arg *args;
	size_t n_args;
	uint64_t size;		/* octets of the command, literals included */
};

/* System flags (RFC 9051 §2.3.2), the same bits as enum store_flag
   (src/imapd static-asserts it; syntax does not include the store).
   \Recent is per session and never stored. */
enum imap_flag {
	IMAP_FLAG_SEEN = 1 << 0,
	IMAP_FLAG_ANSWERED = 1 << 1,
	IMAP_FLAG_FLAGGED = 1 << 2,
	IMAP_FLAG_DELETED = 1 << 3,
	IMAP_FLAG_DRAFT = 1 << 4,
};

/* Whether arg is an astring (atom, NIL, quoted or literal). */
bool imap_arg_is_astring(const struct imap_arg *arg);
/* Whether arg is a string (quoted or literal; LITERAL8 not). */
bool imap_arg_is_string(const struct imap_arg *arg);
/* Whether arg is an atom (or NIL) equal to word (ASCII
   case-insensitive). */
bool imap_arg_is_atom(const struct imap_arg *arg, const char *word);
/* An nstring: NIL or a string. */
bool imap_arg_is_nstring(const struct imap_arg *arg);
/* number (RFC 9051 §9: 0..2^32-1) / nz-number / number64 (0..2^63-1).
   Digits only, no sign, no leading '+', at most the range: anything else
   (including 2^32 for a number) is -1, never wrapped. */
int imap_arg_number(const struct imap_arg *arg, uint32_t *n_r);
int imap_arg_nz_number(const struct imap_arg *arg, uint32_t *n_r);
int imap_arg_number64(const struct imap_arg *arg, uint64_t *n_r);

struct buf;
/* Flags of a STORE/APPEND flag list (the elements of a LIST, or one
   atom): system flags to *flags_r, keywords space-separated appended to
   kw (duplicates dropped). \Recent, unknown system flags ("\Foo") and
   non-atoms are refused. 0, or -1 with *error_r (static text). */
int imap_arg_flags(const struct imap_arg *args, size_t n, unsigned *flags_r,
    struct buf *kw, const char **error_r);
#endif
