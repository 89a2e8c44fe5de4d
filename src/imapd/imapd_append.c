/* imapd_append.c — APPEND's date-time and line ends (imapd_append.h). */
#include "imapd/imapd_append.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"

static int
imapd_append_digits(const char *s, size_t n, int *v_r)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
   days_from_civil). */
static int64_t
imapd_append_days(int y, int m, int d)
{
	int64_t yy = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

int
imapd_append_date(const char *s, size_t len, time_t *t_r)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int day, mon = -1, year, hh, mm, ss, zh, zm, zsign;
	size_t dlen;
	bool leap;
	int64_t t;

	/* date-day-fixed is (SP DIGIT) / 2DIGIT; one digit is tolerated. */
	if (len > 0 && s[0] == ' ') {
		s++;
		len--;
	}
	dlen = len > 1 && s[1] == '-' ? 1 : 2;
	/* d-Mon-yyyy hh:mm:ss +zzzz */
	if (len != dlen + 24 || imapd_append_digits(s, dlen, &day) == -1)
		return -1;
	s += dlen;
	if (s[0] != '-' || s[4] != '-' || s[9] != ' ' || s[12] != ':' ||
	    s[15] != ':' || s[18] != ' ' || (s[19] != '+' && s[19] != '-'))
		return -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(s + 1, months[i], 3) == 0)
			mon = i;
	if (mon == -1 || imapd_append_digits(s + 5, 4, &year) == -1 ||
	    imapd_append_digits(s + 10, 2, &hh) == -1 ||
	    imapd_append_digits(s + 13, 2, &mm) == -1 ||
	    imapd_append_digits(s + 16, 2, &ss) == -1 ||
	    imapd_append_digits(s + 20, 2, &zh) == -1 ||
	    imapd_append_digits(s + 22, 2, &zm) == -1)
		return -1;
	zsign = s[19] == '-' ? -1 : 1;
	leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > mdays[mon] || (mon == 1 && !leap && day > 28) ||
	    hh > 23 || mm > 59 || ss > 60 || zh > 23 || zm > 59)
		return -1;
	t = imapd_append_days(year, mon + 1, day) * 86400 +
	    hh * 3600 + mm * 60 + ss - zsign * (zh * 3600 + zm * 60);
	*t_r = t < 1 ? 1 : (time_t)t;
	return 0;
}

char *
imapd_append_crlf(const char *data, size_t len, size_t *len_r)
{
	size_t bare = 0, o = 0;
	char *out;

	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			bare++;
	*len_r = len;
	if (bare == 0)
		return NULL;
	/* len + bare <= 2 * len, and len is bounded by the literal limit. */
	out = xmalloc(len + bare);
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = data[i];
	}
	*len_r = o;
	return out;
}
