/* imapd_list.h — LIST and LSUB without the session: arguments (RFC 9051
   §6.3.9, LIST-EXTENDED RFC 5258, SPECIAL-USE RFC 6154, LIST-STATUS RFC
   5819, LSUB RFC 3501 §6.3.9), mailbox patterns, and the untagged answers
   from the store's mailbox list and subscriptions. Pure functions: the
   handlers (cmd_list.c) read the store on a worker and call
   imapd_list_write there.

   Patterns are matched in UTF-8 after the client's encoding is decoded,
   in time linear in name length times pattern length (no backtracking),
   with runs of wildcards collapsed and a pattern that needs more literal
   octets than a name can hold matching nothing: a hostile pattern costs
   at most STORE_NAME_MAX x IMAPD_LIST_PATTERN_MAX steps per name. */
#ifndef PETREL_IMAPD_LIST_H
#define PETREL_IMAPD_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "imapd/imapd_status.h"
#include "store/store.h"

struct buf;
struct imap_arg;

/* A pattern longer than this (after collapsing wildcards) cannot match a
   name of STORE_NAME_MAX octets. */
#define IMAPD_LIST_PATTERN_MAX (2 * STORE_NAME_MAX + 1)

struct imapd_list_pattern {
	char *text;		/* heap, UTF-8, wildcards collapsed */
	size_t len;
	bool never;		/* matches nothing */
};

enum imapd_list_select {
	IMAPD_LIST_SEL_SUBSCRIBED = 1 << 0,
	IMAPD_LIST_SEL_REMOTE = 1 << 1,
	IMAPD_LIST_SEL_RECURSIVEMATCH = 1 << 2,
	IMAPD_LIST_SEL_SPECIAL_USE = 1 << 3,
};

enum imapd_list_return {
	IMAPD_LIST_RET_SUBSCRIBED = 1 << 0,
	IMAPD_LIST_RET_CHILDREN = 1 << 1,
	IMAPD_LIST_RET_SPECIAL_USE = 1 << 2,
	IMAPD_LIST_RET_STATUS = 1 << 3,
};

struct imapd_list_params {
	bool lsub;
	bool root_only;		/* LIST "" "": the separator only */
	unsigned select;	/* enum imapd_list_select */
	unsigned ret;		/* enum imapd_list_return */
	unsigned status_items;	/* with IMAPD_LIST_RET_STATUS */
	struct imapd_list_pattern *patterns;	/* heap */
	size_t n_patterns;
	struct imapd_status_view view;	/* the caller fills it */
};

/* Compiles reference + pattern as the client sent them (modified UTF-7
   unless utf8). 0, or -1 with *error_r (static text) when either does
   not decode. */
int imapd_list_pattern_init(struct imapd_list_pattern *p, const char *ref,
    size_t ref_len, const char *pat, size_t pat_len, bool utf8,
    const char **error_r);
void imapd_list_pattern_clear(struct imapd_list_pattern *p);
/* Whether the store name name[0..len) matches: '*' any octets, '%' any
   but '/'; INBOX's own five letters case-insensitively. */
bool imapd_list_match(const struct imapd_list_pattern *p, const char *name,
    size_t len);

/* The arguments of LIST (lsub false) or LSUB. params->view is left for
   the caller. 0, or -1 with *error_r (static text for BAD); on -1
   nothing needs clearing. */
int imapd_list_parse(const struct imap_arg *args, size_t n, bool lsub,
    bool utf8, struct imapd_list_params *params, const char **error_r);
void imapd_list_params_clear(struct imapd_list_params *params);
/* Whether the answer needs store_subscriptions (else mailboxes only). */
bool imapd_list_needs_subscriptions(const struct imapd_list_params *params);

/* Appends the untagged answers: "* LIST (attrs) "/" name [CHILDINFO]",
   "* LSUB ...", and "* STATUS ..." after each selectable mailbox when
   asked. mailboxes as store_mailbox_list gives them, subs as
   store_subscriptions (either order; NULL, 0 when not needed). 0, or -1
   when out is full. */
int imapd_list_write(const struct imapd_list_params *params,
    const struct store_mailbox *mailboxes, size_t n_mailboxes,
    char *const *subs, size_t n_subs, struct buf *out);
#endif
