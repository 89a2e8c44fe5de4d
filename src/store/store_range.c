/* store_range.c — UID ranges as the IMAP layer passes them (any order,
   overlapping) made sorted and disjoint, so that walking them visits
   each message once and in ascending UID order. */
#include "store/store_private.h"

#include <stdlib.h>

#include "lib/xmalloc.h"

static int
store_range_cmp(const void *a, const void *b)
{
	const struct store_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int
store_range_normalize(struct store *s, const struct store_range *ranges,
    size_t n, struct store_range **out_r, size_t *n_r)
{
	struct store_range *out;
	size_t m = 0;

	*out_r = NULL;
	*n_r = 0;
	if (ranges == NULL || n == 0) {
		out = xmalloc(sizeof(*out));
		out->lo = 1;
		out->hi = UINT32_MAX;
		*out_r = out;
		*n_r = 1;
		return STORE_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (ranges[i].lo == 0 || ranges[i].lo > ranges[i].hi)
			return store_fail(s, STORE_INVALID,
			    "bad UID range %u:%u", ranges[i].lo,
			    ranges[i].hi);
	}
	out = xreallocarray(NULL, n, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = ranges[i];
	qsort(out, n, sizeof(*out), store_range_cmp);
	for (size_t i = 1; i < n; i++) {
		/* Overlapping or adjacent (hi + 1 == lo, without overflow). */
		if (out[i].lo <= out[m].hi ||
		    out[i].lo - 1 == out[m].hi) {
			if (out[i].hi > out[m].hi)
				out[m].hi = out[i].hi;
		} else {
			out[++m] = out[i];
		}
	}
	*out_r = out;
	*n_r = m + 1;
	return STORE_OK;
}
