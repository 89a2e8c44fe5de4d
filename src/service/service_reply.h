/* service_reply.h — one protocol reply line, as every line-based session
   (SMTP, POP3, later IMAP) writes it. */
#ifndef PETREL_SERVICE_REPLY_H
#define PETREL_SERVICE_REPLY_H

#include <stdarg.h>

struct conn;

/* Writes the text of fmt and CRLF to conn, and logs it at debug level as
   "<service>: conn=<id> event=reply text=..." with control bytes escaped:
   replies echo what clients chose (addresses, user names). */
void service_vreply(struct conn *conn, const char *service, const char *id,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
#endif
