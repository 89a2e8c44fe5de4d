/* fuzz_smtp_reply.c — the SMTP reply parser (smtp/smtp_reply.c) on what a
   remote server may send: the input is cut into lines at LF (a CR before
   it dropped, as conn_read_line does) and fed in order; a finished or
   refused reply starts the next. A finished reply has a code 200..599,
   at most SMTP_REPLY_LINES_MAX lines, text within SMTP_REPLY_TEXT_MAX
   without control bytes, an enhanced code of the code's class, and its
   lines iterate back to exactly its line count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_reply.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_done(const struct smtp_reply *r)
{
	const char *line;
	size_t len, pos = 0, total = 0;
	unsigned lines = 0;

	CHECK(r->code >= 200 && r->code <= 599);
	CHECK(r->lines >= 1 && r->lines <= SMTP_REPLY_LINES_MAX);
	CHECK(r->text.len <= SMTP_REPLY_TEXT_MAX);
	CHECK(r->enhanced[0] == '\0' ||
	    (unsigned)(r->enhanced[0] - '0') == r->code / 100);
	CHECK(strlen(r->enhanced) < sizeof(r->enhanced));
	for (size_t i = 0; i < r->text.len; i++) {
		unsigned char c = (unsigned char)r->text.data[i];

		CHECK(c == '\n' || (c >= 0x20 && c != 0x7f));
	}
	while (smtp_reply_next_line(r, &pos, &line, &len)) {
		CHECK(memchr(line, '\n', len) == NULL);
		total += len;
		lines++;
	}
	CHECK(lines == r->lines);
	CHECK(total + lines - 1 == r->text.len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *error;
	struct smtp_reply r;

	smtp_reply_init(&r);
	while (p < end) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t len = lf != NULL ? (size_t)(lf - p) : (size_t)(end - p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		error = NULL;
		int ret = smtp_reply_feed(&r, p, len, &error);

		if (ret == -1) {
			CHECK(error != NULL);
			smtp_reply_reset(&r);
		} else if (ret == 1) {
			CHECK(r.done);
			check_done(&r);
			smtp_reply_reset(&r);
		} else {
			CHECK(ret == 0 && !r.done && r.lines > 0);
		}
		p = lf != NULL ? lf + 1 : end;
	}
	smtp_reply_clear(&r);
	return 0;
}
