/* imap_seqset.c — sequence sets (imap_seqset.h): parsed strictly (every
   number an nz-number below 2^32, never wrapped; the ranges bounded by
   max_ranges before they are allocated), resolved against "*", sorted,
   merged and written back compressed. */
#include "imap/imap_seqset.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

/* One nz-number or "*" at s[*pos..len). Leading zeros are accepted, as
   Dovecot does; 0 and anything past 2^32-1 are not. */
static int
imap_seqset_number(const char *s, size_t len, size_t *pos, uint32_t *n_r)
{
	uint64_t n = 0;
	size_t i = *pos;

	if (i < len && s[i] == '*') {
		*pos = i + 1;
		*n_r = IMAP_SEQ_STAR;
		return 0;
	}
	if (i == len || s[i] < '0' || s[i] > '9')
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (unsigned)(s[i] - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	if (n == 0)
		return -1;
	*pos = i;
	*n_r = (uint32_t)n;
	return 0;
}

int
imap_seqset_parse(const char *s, size_t len, size_t max_ranges,
    struct imap_seqset *set_r, const char **error_r)
{
	size_t pos = 0, cap = 0;

	memset(set_r, 0, sizeof(*set_r));
	if (len == 1 && s[0] == '$') {
		set_r->saved = true;	/* SEARCHRES (RFC 5182) */
		return 0;
	}
	for (;;) {
		struct imap_seq_range r;

		if (imap_seqset_number(s, len, &pos, &r.lo) == -1)
			goto invalid;
		r.hi = r.lo;
		if (pos < len && s[pos] == ':') {
			pos++;
			if (imap_seqset_number(s, len, &pos, &r.hi) == -1)
				goto invalid;
		}
		if (set_r->n == max_ranges) {
			*error_r = "Too many ranges in the sequence set";
			imap_seqset_clear(set_r);
			return -1;
		}
		if (set_r->n == cap) {
			cap = cap ? cap * 2 : 4;
			if (cap > max_ranges)
				cap = max_ranges;
			set_r->ranges = xreallocarray(set_r->ranges, cap,
			    sizeof(*set_r->ranges));
		}
		set_r->ranges[set_r->n++] = r;
		if (pos == len)
			return 0;
		if (s[pos] != ',')
			goto invalid;
		pos++;
	}
invalid:
	imap_seqset_clear(set_r);
	*error_r = "Invalid messageset";
	return -1;
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	xfree(&set->ranges);
	set->n = 0;
	set->saved = false;
}

static int
imap_seqset_range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

void
imap_seqset_resolve(const struct imap_seqset *set, uint32_t max,
    struct imap_seq_range **ranges_r, size_t *n_r)
{
	struct imap_seq_range *r;
	size_t n = 0, out = 0;

	*ranges_r = NULL;
	*n_r = 0;
	if (set->n == 0)
		return;
	r = xreallocarray(NULL, set->n, sizeof(*r));
	for (size_t i = 0; i < set->n; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;

		if (lo == IMAP_SEQ_STAR || hi == IMAP_SEQ_STAR) {
			if (max == 0)
				continue;	/* "*" of an empty mailbox */
			if (lo == IMAP_SEQ_STAR)
				lo = max;
			if (hi == IMAP_SEQ_STAR)
				hi = max;
		}
		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		r[n].lo = lo;
		r[n].hi = hi;
		n++;
	}
	if (n == 0) {
		free(r);
		return;
	}
	qsort(r, n, sizeof(*r), imap_seqset_range_cmp);
	for (size_t i = 1; i < n; i++) {
		/* Overlapping or adjacent; hi + 1 may not wrap. */
		if (r[out].hi == UINT32_MAX || r[i].lo <= r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	*ranges_r = r;
	*n_r = out + 1;
}

bool
imap_seqset_contains(const struct imap_seq_range *ranges, size_t n,
    uint32_t value)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (value < ranges[mid].lo)
			hi = mid;
		else if (value > ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static int
imap_seqset_write_range(struct buf *out, bool first, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		return buf_printf(out, "%s%u", first ? "" : ",", lo);
	return buf_printf(out, "%s%u:%u", first ? "" : ",", lo, hi);
}

int
imap_seqset_write(const struct imap_seq_range *ranges, size_t n,
    struct buf *out)
{
	size_t old = out->len;

	for (size_t i = 0; i < n; i++) {
		if (imap_seqset_write_range(out, i == 0, ranges[i].lo,
		    ranges[i].hi) == -1) {
			out->len = old;
			if (out->data != NULL)
				out->data[old] = '\0';
			return -1;
		}
	}
	return 0;
}

int
imap_seqset_write_list(const uint32_t *values, size_t n, struct buf *out)
{
	size_t old = out->len, i = 0;
	bool first = true;

	while (i < n) {
		uint32_t lo = values[i], hi = values[i];

		/* Extend over the run (duplicates tolerated). */
		while (++i < n && (values[i] == hi ||
		    (hi != UINT32_MAX && values[i] == hi + 1)))
			hi = values[i];
		if (imap_seqset_write_range(out, first, lo, hi) == -1) {
			out->len = old;
			if (out->data != NULL)
				out->data[old] = '\0';
			return -1;
		}
		first = false;
	}
	return 0;
}
