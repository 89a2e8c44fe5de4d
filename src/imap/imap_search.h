/* imap_search.h — SEARCH, SORT and THREAD arguments (RFC 9051 §6.4.4,
   RFC 3501 §6.4.4 keys for rev1 clients, ESEARCH RFC 4731, SEARCHRES RFC
   5182, CONDSTORE MODSEQ RFC 7162, WITHIN RFC 5032, SAVEDATE RFC 8514,
   OBJECTID RFC 8474, SORT/THREAD RFC 5256) parsed into a tree. The
   evaluation is src/imapd/imapd_search.c's. */
#ifndef PETREL_IMAP_SEARCH_H
#define PETREL_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_arg.h"
#include "imap/imap_seqset.h"

enum imap_search_key {
	IMAP_SEARCH_ALL,
	IMAP_SEARCH_AND,		/* children: a parenthesised list, or
					   the top level's keys */
	IMAP_SEARCH_OR,			/* children[0], children[1] */
	IMAP_SEARCH_NOT,		/* children[0] */
	IMAP_SEARCH_SEQSET,		/* set: sequence numbers */
	IMAP_SEARCH_UID,		/* set: UIDs */
	/* Flags: flag is an IMAP_FLAG_* bit ... */
	IMAP_SEARCH_FLAG,		/* ANSWERED DELETED DRAFT FLAGGED SEEN */
	IMAP_SEARCH_UNFLAG,		/* UNANSWERED ... UNSEEN */
	IMAP_SEARCH_KEYWORD,		/* str: the keyword */
	IMAP_SEARCH_UNKEYWORD,
	/* ... except \Recent, per session (rev1 only): */
	IMAP_SEARCH_RECENT,
	IMAP_SEARCH_NEW,		/* RECENT UNSEEN */
	IMAP_SEARCH_OLD,		/* NOT RECENT */
	/* Dates: day, days since 1970-01-01 of the date given. */
	IMAP_SEARCH_BEFORE,		/* internal date, date part only */
	IMAP_SEARCH_ON,
	IMAP_SEARCH_SINCE,
	IMAP_SEARCH_SENTBEFORE,		/* Date: header */
	IMAP_SEARCH_SENTON,
	IMAP_SEARCH_SENTSINCE,
	IMAP_SEARCH_SAVEDBEFORE,	/* save date (RFC 8514) */
	IMAP_SEARCH_SAVEDON,
	IMAP_SEARCH_SAVEDSINCE,
	IMAP_SEARCH_SAVEDATESUPPORTED,
	IMAP_SEARCH_OLDER,		/* number: seconds (WITHIN) */
	IMAP_SEARCH_YOUNGER,
	/* Sizes: number. */
	IMAP_SEARCH_LARGER,
	IMAP_SEARCH_SMALLER,
	/* Strings: str (UTF-8), substring, case-insensitive. */
	IMAP_SEARCH_BCC,
	IMAP_SEARCH_CC,
	IMAP_SEARCH_FROM,
	IMAP_SEARCH_TO,
	IMAP_SEARCH_SUBJECT,
	IMAP_SEARCH_HEADER,		/* field and str ("" matches any
					   message with the field) */
	IMAP_SEARCH_BODY,
	IMAP_SEARCH_TEXT,		/* header and body */
	IMAP_SEARCH_MODSEQ,		/* number (entry name and type are
					   parsed and ignored, as Dovecot) */
	IMAP_SEARCH_EMAILID,		/* str */
	IMAP_SEARCH_THREADID,
};

struct imap_search_node {
	enum imap_search_key key;
	unsigned flag;			/* FLAG/UNFLAG: IMAP_FLAG_* */
	const char *str;		/* strings point into the command */
	size_t str_len;
	const char *field;		/* HEADER */
	int32_t day;			/* dates */
	uint64_t number;		/* sizes, seconds, modseq */
	struct imap_seqset set;		/* SEQSET, UID */
	struct imap_search_node *children;	/* heap */
	size_t n_children;
};

/* ESEARCH RETURN options (RFC 4731, RFC 5182). */
enum imap_search_return {
	IMAP_SEARCH_RETURN_MIN = 1 << 0,
	IMAP_SEARCH_RETURN_MAX = 1 << 1,
	IMAP_SEARCH_RETURN_ALL = 1 << 2,
	IMAP_SEARCH_RETURN_COUNT = 1 << 3,
	IMAP_SEARCH_RETURN_SAVE = 1 << 4,
};

struct imap_search {
	struct imap_search_node root;	/* an AND of the keys given */
	const char *charset;		/* NULL: none given. The caller
					   accepts UTF-8 and US-ASCII (any
					   case) and answers others with NO
					   [BADCHARSET (UTF-8 US-ASCII)] */
	bool esearch;			/* RETURN (...) given: answer ESEARCH */
	unsigned returns;		/* enum imap_search_return; RETURN ()
					   means ALL */
	bool uses_modseq;		/* a MODSEQ key: answer (MODSEQ n) */
};

/* The SEARCH arguments args[0..n) (after "SEARCH" / "UID SEARCH").
   max_depth bounds nested lists, NOT and OR (thousands deep is refused,
   never recursed into). 0, or -1 with *error_r (static text for BAD). A
   node's strings point into args, which must outlive it. */
int imap_search_parse(const struct imap_arg *args, size_t n,
    unsigned max_depth, struct imap_search *search_r, const char **error_r);
void imap_search_clear(struct imap_search *search);

/* SORT (RFC 5256 §3; DISPLAYFROM/DISPLAYTO RFC 5957). */
enum imap_sort_key {
	IMAP_SORT_ARRIVAL,
	IMAP_SORT_CC,
	IMAP_SORT_DATE,
	IMAP_SORT_FROM,
	IMAP_SORT_SIZE,
	IMAP_SORT_SUBJECT,
	IMAP_SORT_TO,
	IMAP_SORT_DISPLAYFROM,
	IMAP_SORT_DISPLAYTO,
};

struct imap_sort_criterion {
	enum imap_sort_key key;
	bool reverse;
};

#define IMAP_SORT_MAX_CRITERIA 16

struct imap_sort {
	struct imap_sort_criterion criteria[IMAP_SORT_MAX_CRITERIA];
	size_t n_criteria;
	struct imap_search search;	/* charset is required here */
};

/* SORT [RETURN (...)] (criteria) charset search-keys. 0 or -1. */
int imap_sort_parse(const struct imap_arg *args, size_t n,
    unsigned max_depth, struct imap_sort *sort_r, const char **error_r);
void imap_sort_clear(struct imap_sort *sort);

enum imap_thread_algorithm {
	IMAP_THREAD_ORDEREDSUBJECT,
	IMAP_THREAD_REFERENCES,
};

struct imap_thread {
	enum imap_thread_algorithm algorithm;
	struct imap_search search;
};

/* THREAD algorithm charset search-keys. An unknown algorithm is an
   error ("Unknown thread algorithm"). 0 or -1. */
int imap_thread_parse(const struct imap_arg *args, size_t n,
    unsigned max_depth, struct imap_thread *thread_r, const char **error_r);
void imap_thread_clear(struct imap_thread *thread);
#endif
