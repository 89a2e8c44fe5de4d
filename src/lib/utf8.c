/* utf8.c — see utf8.h. The decoder is RFC 3629 §4's grammar as a table:
   checking the range of the second byte rules out overlong forms,
   surrogates and code points past U+10FFFF before any arithmetic. */
#include "lib/utf8.h"

/* UTF8-2, UTF8-3 and UTF8-4: lead bytes, length, second byte range. */
static const struct utf8_lead {
	unsigned char first, last;
	unsigned char len;
	unsigned char lo, hi;
} utf8_leads[] = {
	{ 0xc2, 0xdf, 2, 0x80, 0xbf },
	{ 0xe0, 0xe0, 3, 0xa0, 0xbf },	/* no overlongs */
	{ 0xe1, 0xec, 3, 0x80, 0xbf },
	{ 0xed, 0xed, 3, 0x80, 0x9f },	/* no surrogates */
	{ 0xee, 0xef, 3, 0x80, 0xbf },
	{ 0xf0, 0xf0, 4, 0x90, 0xbf },	/* no overlongs */
	{ 0xf1, 0xf3, 4, 0x80, 0xbf },
	{ 0xf4, 0xf4, 4, 0x80, 0x8f },	/* nothing past U+10FFFF */
};

size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	const struct utf8_lead *lead = NULL;
	uint32_t cp;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	/* Continuation bytes, C0/C1 (overlong ASCII) and F5..FF lead
	   nothing. */
	for (size_t i = 0; i < sizeof(utf8_leads) / sizeof(utf8_leads[0]); i++)
		if (s[0] >= utf8_leads[i].first && s[0] <= utf8_leads[i].last)
			lead = &utf8_leads[i];
	if (lead == NULL || len < lead->len || s[1] < lead->lo ||
	    s[1] > lead->hi)
		return 0;
	/* The lead keeps 7 - len bits of the code point, each further byte
	   6. */
	cp = s[0] & (0x7fu >> lead->len);
	for (size_t i = 1; i < lead->len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	*cp_r = cp;
	return lead->len;
}

size_t
utf8_nonascii_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n = utf8_decode(s, len, &cp);

	return n > 1 && cp >= 0xa0 ? n : 0;
}
