/* imapd_thread_private.h — what imapd_thread.c (collection,
   ORDEREDSUBJECT, sorting, the answer) and imapd_thread_refs.c (the
   REFERENCES algorithm) share: the messages and the thread tree. Trees
   are arrays indexed by node number, never pointers, and every walk of
   them is iterative: a reference chain thousands deep costs memory,
   not stack. Nothing outside src/imapd/ includes it. */
#ifndef PETREL_IMAPD_THREAD_PRIVATE_H
#define PETREL_IMAPD_THREAD_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

#define IMAPD_THREAD_NONE UINT32_MAX

struct imapd_thread_msg {
	uint32_t num;			/* in the answer: UID or sequence */
	uint32_t seq;			/* ties (RFC 5256: mailbox order) */
	time_t date;			/* sent date, UTC */
	char *subject;			/* base subject, folded */
	bool reply;			/* the subject was a reply/forward */
	char *id;			/* own Message-ID "<...>", or NULL */
	char **refs;			/* References (else In-Reply-To's
					   first id), oldest first */
	size_t n_refs;
};

struct imapd_thread_node {
	uint32_t msg;			/* index in msgs; NONE: a dummy */
	uint32_t *kids;			/* node numbers */
	size_t n_kids, cap;
};

struct imapd_thread_tree {
	struct imapd_thread_node *nodes;
	size_t n_nodes, cap;
	uint32_t *roots;		/* node numbers; NONE: removed */
	size_t n_roots;
};

/* A new node for msg (NONE: a dummy); returns its number. */
uint32_t imapd_thread_node_new(struct imapd_thread_tree *t, uint32_t msg);
void imapd_thread_node_add(struct imapd_thread_tree *t, uint32_t parent,
    uint32_t kid);
void imapd_thread_tree_clear(struct imapd_thread_tree *t);

/* Sorts the kids of node by sent date, then mailbox order; a dummy
   sorts as its first kid (RFC 5256 §4 step 6). */
void imapd_thread_sort_kids(const struct imapd_thread_msg *msgs,
    struct imapd_thread_tree *t, uint32_t node);
/* Sorts every node's kids, then the roots (NONE entries dropped). */
void imapd_thread_sort_all(const struct imapd_thread_msg *msgs,
    struct imapd_thread_tree *t);
/* The message a node stands for in sorting and subject grouping: its
   own, or a dummy's first kid's (NONE when it has none). */
uint32_t imapd_thread_node_msg(const struct imapd_thread_tree *t,
    uint32_t node);

/* RFC 5256 §4 REFERENCES, steps 1 to 5, over msgs[0..n) in mailbox
   order: fills t (roots unsorted; the caller sorts). */
void imapd_thread_refs_build(const struct imapd_thread_msg *msgs, size_t n,
    struct imapd_thread_tree *t);

/* "(1 2)(3 (4)(5))": the sorted roots of t, appended to out. */
void imapd_thread_write(const struct imapd_thread_msg *msgs,
    const struct imapd_thread_tree *t, struct buf *out);
#endif
