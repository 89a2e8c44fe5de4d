/* migrate_message.c — see migrate_message.h. */
#include "migrate/migrate_message.h"

#include <string.h>

#include "lib/buf.h"

int
migrate_message_crlf(const char *data, size_t len, struct buf *out)
{
	size_t start = out->len, i = 0;

	/* Whole runs between LFs at a time: one memchr and one append each,
	   not a call per byte. */
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;

		if (buf_append(out, data + i, end - i) == -1)
			goto fail;
		if (nl == NULL)
			break;
		if ((end == 0 || data[end - 1] != '\r') &&
		    buf_append(out, "\r", 1) == -1)
			goto fail;
		if (buf_append(out, "\n", 1) == -1)
			goto fail;
		i = end + 1;
	}
	return 0;
fail:
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return -1;
}
