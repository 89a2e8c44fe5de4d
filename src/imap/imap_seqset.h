/* imap_seqset.h — sequence sets (RFC 9051 §9 sequence-set, "*", and
   SEARCHRES "$" RFC 5182) for message sequence numbers and UIDs. */
#ifndef PETREL_IMAP_SEQSET_H
#define PETREL_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "*" as parsed, before it is resolved against a mailbox. Numbers are
   nz-numbers (1..2^32-1), so 0 is free to mean it. */
#define IMAP_SEQ_STAR 0u

struct imap_seq_range {
	uint32_t lo, hi;	/* as written: either may be IMAP_SEQ_STAR,
				   lo may exceed hi ("5:2") */
};

struct imap_seqset {
	struct imap_seq_range *ranges;	/* heap */
	size_t n;
	bool saved;			/* "$": the session's saved result */
};

/* Parses s[0..len) (one atom). 0, or -1 with *error_r (static text):
   empty parts, 0, numbers over 2^32-1, anything but digits ':' ',' '*',
   more than max_ranges ranges. "$" alone sets saved. */
int imap_seqset_parse(const char *s, size_t len, size_t max_ranges,
    struct imap_seqset *set_r, const char **error_r);
void imap_seqset_clear(struct imap_seqset *set);

/* The set with "*" as max (the highest sequence number or UID in use;
   0 in an empty mailbox, when "*" matches nothing ... except that RFC
   9051 §6.4.8 makes "UID n:*" match the highest UID even when n is
   larger, which the caller gets by passing that UID), every range turned
   lo <= hi, sorted and merged. *ranges_r heap (NULL when empty). */
void imap_seqset_resolve(const struct imap_seqset *set, uint32_t max,
    struct imap_seq_range **ranges_r, size_t *n_r);

/* Whether n lies in sorted, merged ranges (binary search). */
bool imap_seqset_contains(const struct imap_seq_range *ranges, size_t n,
    uint32_t value);

/* Writes sorted, merged ranges as a sequence set ("1:3,7") to out
   (appended). Returns 0, or -1 when out is full. */
struct buf;
int imap_seqset_write(const struct imap_seq_range *ranges, size_t n,
    struct buf *out);
/* The same from a sorted array of numbers (APPENDUID/COPYUID, ESEARCH
   ALL, VANISHED), compressing runs. */
int imap_seqset_write_list(const uint32_t *values, size_t n, struct buf *out);
#endif
