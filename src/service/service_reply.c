/* service_reply.c — see service_reply.h. */
#include "service/service_reply.h"

#include <stdlib.h>
#include <string.h>

#include "lib/conn.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

void
service_vreply(struct conn *conn, const char *service, const char *id,
    const char *fmt, va_list ap)
{
	char esc[LOG_STR_MAX];
	char *text = xvasprintf(fmt, ap);
	size_t len = strlen(text);

	conn_write(conn, text, len);
	conn_write(conn, "\r\n", 2);
	log_debug("%s: conn=%s event=reply text=%s", service, id,
	    log_str(esc, sizeof(esc), text, len));
	free(text);
}
