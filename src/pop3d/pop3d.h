/* pop3d.h — the POP3 service as the server runs it: one server_protocol
   for CONFIG_PROTOCOL_POP3 listeners (plaintext with STLS, or implicit
   TLS on 995). Per-I/O-thread state is created lazily on each thread
   (service_thread.h); password checks and mailbox reads run on the
   server's worker pool. */
#ifndef PETREL_POP3D_H
#define PETREL_POP3D_H

#include "config/config.h"

struct pop3d;
struct server_protocol;
struct service_login;

/* config and login (shared by every login service: one throttle, one
   cache) must outlive the service. Never returns NULL. */
struct pop3d *pop3d_new(const struct config *config,
    struct service_login *login);
/* After server_run returned (every I/O thread stopped): closes the
   per-thread directories. Accepts NULL. */
void pop3d_free(struct pop3d **pop3d);

/* The protocol to pass to server_set_protocol for CONFIG_PROTOCOL_POP3
   (any other protocol is a bug and panics). Owned by pop3d, valid until
   pop3d_free. */
const struct server_protocol *pop3d_protocol(struct pop3d *pop3d,
    enum config_protocol protocol);
#endif
