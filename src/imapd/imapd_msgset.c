/* imapd_msgset.c — message set arguments (imapd_msgset.h). */
#include "imapd/imapd_msgset.h"

#include <stdlib.h>

#include "imap/imap_arg.h"
#include "imap/imap_seqset.h"
#include "imapd/imapd_private.h"
#include "lib/xmalloc.h"
#include "store/store.h"

int
imapd_msgset_arg(struct imapd_session *s, const struct imap_arg *arg,
    struct store_range **ranges_r, size_t *n_r)
{
	struct imap_seq_range *seq = NULL;
	struct store_range *ranges = NULL;
	struct imap_seqset set = { 0 };
	const char *error;
	size_t n = 0;

	*ranges_r = NULL;
	*n_r = 0;
	if (arg->type != IMAP_ARG_ATOM ||
	    imap_seqset_parse(arg->str, arg->len, IMAPD_MSGSET_MAX_RANGES,
	    &set, &error) == -1 ||
	    imapd_selected_uids(s->sel, &set, s->uid, &seq, &n,
	    &error) == -1) {
		imap_seqset_clear(&set);
		if (arg->type != IMAP_ARG_ATOM)
			error = "Invalid messageset";
		imapd_command_bad(s, "%s.", error);
		return -1;
	}
	imap_seqset_clear(&set);
	if (n > 0) {
		ranges = xreallocarray(NULL, n, sizeof(*ranges));
		for (size_t i = 0; i < n; i++)
			ranges[i] = (struct store_range){
				.lo = seq[i].lo, .hi = seq[i].hi,
			};
	}
	free(seq);
	*ranges_r = ranges;
	*n_r = n;
	return 0;
}

uint32_t *
imapd_msgset_view_uids(const struct imapd_session *s,
    const struct store_range *ranges, size_t n, size_t *n_r)
{
	const struct imapd_selected *sel = s->sel;
	uint32_t *uids = NULL;
	size_t k = 0, count = 0, cap = 0;

	/* Both are ascending: one merge pass. */
	for (size_t i = 0; i < sel->n && k < n; ) {
		uint32_t uid = sel->uids[i];

		if (uid > ranges[k].hi) {
			k++;
			continue;
		}
		if (uid >= ranges[k].lo) {
			if (count == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				uids = xreallocarray(uids, cap, sizeof(*uids));
			}
			uids[count++] = uid;
		}
		i++;
	}
	*n_r = count;
	return uids;
}
