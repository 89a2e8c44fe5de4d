/* smtpd.h — the SMTP receiving service as the server runs it: one
   server_protocol for the MTA port (CONFIG_PROTOCOL_SMTP) and one for
   submission (CONFIG_PROTOCOL_SUBMISSION: AUTH through the shared login,
   relaying for logged-in users and relay networks). Per-I/O-thread state is
   created lazily on each thread (service/service_thread.h). */
#ifndef PETREL_SMTPD_H
#define PETREL_SMTPD_H

#include "config/config.h"

struct queue;
struct server_protocol;
struct service_login;
struct smtpd;

/* config, queue and login (shared with POP3 and IMAP: one throttle, one
   cache) must outlive the service. Never returns NULL. */
struct smtpd *smtpd_new(const struct config *config, struct queue *queue,
    struct service_login *login);
/* After server_run returned (every I/O thread stopped): closes the
   per-thread directories. Accepts NULL. */
void smtpd_free(struct smtpd **smtpd);

/* The protocol to pass to server_set_protocol for CONFIG_PROTOCOL_SMTP or
   CONFIG_PROTOCOL_SUBMISSION (any other protocol is a bug and panics).
   Owned by smtpd, valid until smtpd_free. */
const struct server_protocol *smtpd_protocol(struct smtpd *smtpd,
    enum config_protocol protocol);
#endif
