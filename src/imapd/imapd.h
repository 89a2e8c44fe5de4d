/* imapd.h — the IMAP service as the server runs it: one server_protocol
   for CONFIG_PROTOCOL_IMAP listeners (STARTTLS on 143, implicit TLS on
   993). Per-I/O-thread state is created lazily on each thread
   (service_thread.h); logins go through service_login, store work runs
   on the server's worker pool. */
#ifndef PETREL_IMAPD_H
#define PETREL_IMAPD_H

#include "config/config.h"

struct imapd;
struct server_protocol;
struct service_login;

/* config and login must outlive the service. Never returns NULL. */
struct imapd *imapd_new(const struct config *config,
    struct service_login *login);
/* After server_run returned. Accepts NULL. */
void imapd_free(struct imapd **imapd);

/* For server_set_protocol(CONFIG_PROTOCOL_IMAP). */
const struct server_protocol *imapd_protocol(struct imapd *imapd,
    enum config_protocol protocol);
#endif
