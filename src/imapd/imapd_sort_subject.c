/* imapd_sort_subject.c — the base subject (RFC 5256 §2.1), which SORT
   SUBJECT and both THREAD algorithms compare. The subject is RFC
   2047-decoded and case-folded first (step 1; the RFC's literals "re",
   "fw", "fwd" match case-insensitively, and folding never touches the
   ASCII punctuation the grammar looks for), then trimmed from both ends
   in place: no step allocates. As Dovecot, a blob may hold any octet
   but '[' and ']' (the RFC's BLOBCHAR is ASCII only, which would keep
   "[Ünïcode list]" prefixes that clients hide). */
#include "imapd/imapd_sort_private.h"

#include <stdlib.h>
#include <string.h>

#include "imapd/imapd_search_text.h"
#include "lib/buf.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"

struct imapd_sort_subj {
	const char *s;
	size_t start, end;
	bool reply;
};

static bool
imapd_sort_subject_has(const struct imapd_sort_subj *j, size_t at,
    const char *lit)
{
	size_t n = strlen(lit);

	return at <= j->end && j->end - at >= n && memcmp(j->s + at, lit,
	    n) == 0;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at at: the offset after it, or 0. */
static size_t
imapd_sort_subject_blob(const struct imapd_sort_subj *j, size_t at)
{
	size_t i;

	if (at >= j->end || j->s[at] != '[')
		return 0;
	for (i = at + 1; i < j->end && j->s[i] != ']'; i++)
		if (j->s[i] == '[')
			return 0;
	if (i == j->end)
		return 0;
	for (i++; i < j->end && j->s[i] == ' '; i++)
		;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at at: the
   offset after it, or 0. */
static size_t
imapd_sort_subject_refwd(const struct imapd_sort_subj *j, size_t at)
{
	static const char *const words[] = { "re", "fwd", "fw" };

	for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
		size_t i = at + strlen(words[w]), b;

		if (!imapd_sort_subject_has(j, at, words[w]))
			continue;
		while (i < j->end && j->s[i] == ' ')
			i++;
		if ((b = imapd_sort_subject_blob(j, i)) != 0)
			i = b;
		if (i < j->end && j->s[i] == ':')
			return i + 1;
	}
	return 0;
}

/* Step 2: subj-trailer = "(fwd)" / WSP, as often as it matches. */
static void
imapd_sort_subject_trailers(struct imapd_sort_subj *j)
{
	for (;;) {
		if (j->end > j->start && j->s[j->end - 1] == ' ') {
			j->end--;
		} else if (j->end - j->start >= 5 &&
		    memcmp(j->s + j->end - 5, "(fwd)", 5) == 0) {
			j->end -= 5;
			j->reply = true;
		} else {
			return;
		}
	}
}

/* Steps 3 to 5: subj-leader and subj-blob prefixes until none is left. */
static void
imapd_sort_subject_leaders(struct imapd_sort_subj *j)
{
	bool changed = true;

	while (changed) {
		size_t i, r;

		changed = false;
		/* (3) subj-leader = (*subj-blob subj-refwd) / WSP */
		if (j->start < j->end && j->s[j->start] == ' ') {
			j->start++;
			changed = true;
		} else {
			for (i = j->start; (r = imapd_sort_subject_blob(j,
			    i)) != 0; i = r)
				;
			if ((r = imapd_sort_subject_refwd(j, i)) != 0) {
				j->start = r;
				j->reply = true;
				changed = true;
			}
		}
		/* (4) a subj-blob, unless nothing would be left */
		r = imapd_sort_subject_blob(j, j->start);
		if (r != 0 && r < j->end) {
			j->start = r;
			changed = true;
		}
	}
}

char *
imapd_sort_subject(const char *raw, bool *reply_r)
{
	struct imapd_sort_subj j = { 0 };
	struct buf dec;
	char *folded, *out;
	size_t len, n = 0;

	buf_init(&dec, 0);
	if (raw != NULL)
		(void)mime_header_decode(raw, strlen(raw), &dec);
	folded = imapd_search_fold(dec.data != NULL ? dec.data : "", dec.len,
	    &len);
	buf_clear(&dec);
	/* (1) tabs and line breaks become spaces, runs of them one */
	for (size_t i = 0; i < len; i++) {
		char c = folded[i];

		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && n > 0 && folded[n - 1] == ' ')
			continue;
		folded[n++] = c;
	}
	j.s = folded;
	j.end = n;
	for (;;) {
		imapd_sort_subject_trailers(&j);			/* (2) */
		imapd_sort_subject_leaders(&j);			/* (3)-(5) */
		/* (6) subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]" */
		if (!imapd_sort_subject_has(&j, j.start, "[fwd:") ||
		    j.end - j.start < 6 || j.s[j.end - 1] != ']')
			break;
		j.start += 5;
		j.end--;
		j.reply = true;
	}
	out = xstrndup(j.s + j.start, j.end - j.start);
	free(folded);
	if (reply_r != NULL)
		*reply_r = j.reply;
	return out;
}
