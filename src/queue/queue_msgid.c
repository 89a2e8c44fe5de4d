/* queue_msgid.c — the Message-ID of a queued message, found in the first
   bytes of its header block, so that `petrel trace <Message-ID>` finds the
   queue id. A pure function of its input: the queue cannot depend on
   src/mail, and a full header parse is not needed for one field. */
#include "queue/queue_private.h"

#include <string.h>
#include <strings.h>

#include "lib/xmalloc.h"

/* RFC 5322 §3.6.4: msg-id is "<" id-left "@" id-right ">"; longer than
   this is not a Message-ID we index. */
#define QUEUE_MSGID_MAX 250

/* The value of the field that starts at p (after "Message-ID:"), unfolded
   up to the end of its last continuation line, angle brackets included. */
static char *
queue_msgid_value(const char *p, const char *end)
{
	const char *lt = NULL, *gt = NULL;

	for (const char *c = p; c < end; c++) {
		if (*c == '\n' && (c + 1 == end || (c[1] != ' ' &&
		    c[1] != '\t')))
			break;
		if (*c == '<' && lt == NULL)
			lt = c;
		else if (*c == '>' && lt != NULL) {
			gt = c;
			break;
		}
	}
	if (lt == NULL || gt == NULL || gt - lt + 1 > QUEUE_MSGID_MAX)
		return NULL;
	for (const char *c = lt; c <= gt; c++) {
		unsigned char u = (unsigned char)*c;

		if (u <= 0x20 || u == 0x7f)
			return NULL;	/* no folding or controls inside */
	}
	return xstrndup(lt, (size_t)(gt - lt + 1));
}

char *
queue_msgid_find(const char *head, size_t len)
{
	static const char name[] = "message-id:";
	const char *p = head, *end = head + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		/* An empty line ends the header block (RFC 5322 §2.1). */
		if (p[0] == '\n' || (p[0] == '\r' && p + 1 < end &&
		    p[1] == '\n'))
			return NULL;
		if ((size_t)(end - p) > sizeof(name) - 1 &&
		    strncasecmp(p, name, sizeof(name) - 1) == 0)
			return queue_msgid_value(p + sizeof(name) - 1, end);
		if (nl == NULL)
			return NULL;
		p = nl + 1;
	}
	return NULL;
}
