/* mbox_parser.c — see mbox_parser.h. One pass, line by line with memchr;
   a From_ line is decided from the line itself and whether the line
   before it was empty, so nothing is read twice except the From_ line
   candidates' dates. */
#include "migrate/mbox_parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/strnum.h"

void
mbox_parser_init(struct mbox_parser *p, const char *data, size_t len)
{
	p->data = data;
	p->len = len;
	p->pos = 0;
}

static bool
mbox_parser_is_from(const char *s, size_t len)
{
	return len >= 5 && memcmp(s, "From ", 5) == 0;
}

/* The line at pos: its end without CR/LF (*content_len_r) and where the
   next one starts. */
static size_t
mbox_parser_line(const struct mbox_parser *p, size_t pos,
    size_t *content_len_r)
{
	const char *nl = memchr(p->data + pos, '\n', p->len - pos);
	size_t end = nl != NULL ? (size_t)(nl - p->data) : p->len;
	size_t content = end - pos;

	if (nl != NULL && content > 0 && p->data[end - 1] == '\r')
		content--;
	*content_len_r = content;
	return nl != NULL ? end + 1 : p->len;
}

int
mbox_parser_next(struct mbox_parser *p, struct mbox_raw *raw_r)
{
	size_t pos = p->pos, content, next, body, end;
	bool prev_empty = false;
	time_t t;

	if (pos == 0) {
		/* Leading empty lines are tolerated; then it must be a
		   From_ line or this is no mbox. */
		while (pos < p->len) {
			next = mbox_parser_line(p, pos, &content);
			if (content != 0)
				break;
			pos = next;
		}
		if (pos < p->len && !mbox_parser_is_from(p->data + pos,
		    p->len - pos))
			return -1;
	}
	if (pos >= p->len) {
		p->pos = p->len;
		return 0;
	}
	body = mbox_parser_line(p, pos, &content);
	raw_r->offset = pos;
	raw_r->from_line = p->data + pos + 5;
	raw_r->from_len = content >= 5 ? content - 5 : 0;

	for (end = body; end < p->len; end = next) {
		next = mbox_parser_line(p, end, &content);
		if (mbox_parser_is_from(p->data + end, content) &&
		    (prev_empty || mbox_parser_from_date(p->data + end + 5,
		    content - 5, &t) == 0))
			break;
		prev_empty = content == 0;
	}
	p->pos = end;

	/* The empty line before the next From_ line (or the end) is the
	   mbox's separator, "\n" or "\r\n" whatever the line before it
	   ends in. */
	size_t len = end - body, last;
	const char *d = p->data + body;

	if (len >= 1 && d[len - 1] == '\n') {
		last = len - 1;
		if (last > 0 && d[last - 1] == '\r')
			last--;
		if (last == 0 || d[last - 1] == '\n')
			len = last;
	}
	raw_r->data = d;
	raw_r->len = len;
	return 1;
}

struct mbox_parser_token {
	const char *s;
	size_t len;
};

#define MBOX_PARSER_MAX_TOKENS 16

static int
mbox_parser_month(const struct mbox_parser_token *t)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	if (t->len != 3)
		return -1;
	for (int m = 0; m < 12; m++)
		if (strncasecmp(months + (size_t)m * 3, t->s, 3) == 0)
			return m;
	return -1;
}

static bool
mbox_parser_weekday(const struct mbox_parser_token *t)
{
	static const char days[] = "SunMonTueWedThuFriSat";

	if (t->len != 3)
		return false;
	for (int d = 0; d < 7; d++)
		if (strncasecmp(days + (size_t)d * 3, t->s, 3) == 0)
			return true;
	return false;
}

static bool
mbox_parser_num(const struct mbox_parser_token *t, size_t min_len,
    size_t max_len, uint32_t max, uint32_t *n_r)
{
	return t->len >= min_len && t->len <= max_len &&
	    str_to_u32_n(t->s, t->len, n_r) == 0 && *n_r <= max;
}

/* "hh:mm" or "hh:mm:ss". */
static bool
mbox_parser_time(const struct mbox_parser_token *t, struct tm *tm)
{
	struct mbox_parser_token part;
	uint32_t v[3] = { 0, 0, 0 };
	size_t pos = 0;
	int n = 0;

	for (;;) {
		const char *colon = memchr(t->s + pos, ':', t->len - pos);
		size_t end = colon != NULL ? (size_t)(colon - t->s) : t->len;

		part.s = t->s + pos;
		part.len = end - pos;
		if (n == 3 || !mbox_parser_num(&part, 1, 2, n == 0 ? 23 : 60,
		    &v[n]))
			return false;
		n++;
		if (colon == NULL)
			break;
		pos = end + 1;
	}
	if (n < 2)
		return false;
	tm->tm_hour = (int)v[0];
	tm->tm_min = (int)v[1];
	tm->tm_sec = (int)v[2];
	return true;
}

/* "+hhmm" / "-hhmm" as seconds east of UTC. */
static bool
mbox_parser_zone(const struct mbox_parser_token *t, long *offset_r)
{
	struct mbox_parser_token digits = { t->s + 1, 4 };
	uint32_t v;

	if (t->len != 5 || (t->s[0] != '+' && t->s[0] != '-') ||
	    !mbox_parser_num(&digits, 4, 4, 2359, &v) || v % 100 > 59)
		return false;
	*offset_r = (long)(v / 100) * 3600 + (long)(v % 100) * 60;
	if (t->s[0] == '-')
		*offset_r = -*offset_r;
	return true;
}

static bool
mbox_parser_is_alpha(const struct mbox_parser_token *t)
{
	for (size_t i = 0; i < t->len; i++)
		if (!((t->s[i] >= 'A' && t->s[i] <= 'Z') ||
		    (t->s[i] >= 'a' && t->s[i] <= 'z')))
			return false;
	return t->len > 0;
}

int
mbox_parser_from_date(const char *line, size_t len, time_t *t_r)
{
	struct mbox_parser_token tok[MBOX_PARSER_MAX_TOKENS];
	size_t n = 0, pos = 0;

	while (pos < len && n < MBOX_PARSER_MAX_TOKENS) {
		while (pos < len && (line[pos] == ' ' || line[pos] == '\t'))
			pos++;
		if (pos == len)
			break;
		tok[n].s = line + pos;
		while (pos < len && line[pos] != ' ' && line[pos] != '\t')
			pos++;
		tok[n].len = (size_t)(line + pos - tok[n].s);
		n++;
	}
	/* The sender comes first and may be anything; the date is the
	   first "Www Mmm dd hh:mm" run after it. */
	for (size_t i = 1; i + 3 < n; i++) {
		struct tm tm;
		uint32_t day, year;
		long offset = 0;
		size_t k;
		int month;

		if (!mbox_parser_weekday(&tok[i]) ||
		    (month = mbox_parser_month(&tok[i + 1])) < 0 ||
		    !mbox_parser_num(&tok[i + 2], 1, 2, 31, &day) || day == 0)
			continue;
		memset(&tm, 0, sizeof(tm));
		if (!mbox_parser_time(&tok[i + 3], &tm))
			continue;
		k = i + 4;
		/* A zone may come between the time and the year. */
		if (k < n && (mbox_parser_zone(&tok[k], &offset) ||
		    mbox_parser_is_alpha(&tok[k])))
			k++;
		if (k >= n || !mbox_parser_num(&tok[k], 4, 4, 9999, &year) ||
		    year < 1970)
			continue;
		if (k + 1 < n)
			(void)mbox_parser_zone(&tok[k + 1], &offset);
		tm.tm_year = (int)year - 1900;
		tm.tm_mon = month;
		tm.tm_mday = (int)day;
		time_t t = timegm(&tm);

		if (t == (time_t)-1)
			continue;
		*t_r = t - offset;
		return 0;
	}
	return -1;
}
