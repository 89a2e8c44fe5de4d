/* outbound.h — the outbound agent: sends queued mail for other domains
   (DESIGN.md §4: remote delivery) and the DSNs the queue owes.

   One thread with its own event_base runs the DNS resolver (dns.h) and
   the SMTP clients (smtpc.h); a private one-thread worker pool does what
   blocks: claiming work in queue.db, matching relay rules, opening message
   files, building and queueing bounces, recording results. The agent
   wakes when the queue changes (queue_set_outbound_notify), when its timer
   says the next deferred recipient is due, and every few seconds to see
   what another process (petrel queue retry) changed.

   Routing per recipient: relay rules (Recipient → Sender → Default,
   directory_relay.h), else the MX of the recipient's domain (RFC 5321 §5:
   preference order, random among equals, the domain's own A/AAAA when it
   has no MX, null MX RFC 7505 refused with 556 5.1.10). One SMTP
   transaction carries every recipient of a message that shares a route;
   sessions are reused for the next message to the same destination; at
   most config->outbound.max_connections sessions at once.

   Results: 2xx delivered; 4xx and connection failures deferred with
   backoff (retry_min doubling up to retry_max) until max_lifetime, then
   failed (4.4.7); 5xx failed. Failed recipients get one DSN per attempt
   that failed them (normally one per message), to the envelope sender,
   never to the null sender, as NOTIFY and RET say. Results are durable in
   queue.db before anything is removed; a crash after a remote 250 and
   before the record may send a message twice (RFC 5321 §6.1), never lose
   it. */
#ifndef PETREL_OUTBOUND_H
#define PETREL_OUTBOUND_H

struct config;
struct outbound;
struct queue;

/* Starts the agent (its thread, resolver and TLS client context) and
   releases claims a previous run left. config and queue must outlive it.
   Returns NULL with *error_r (heap) when the resolver or the TLS context
   cannot be made, or the directory cannot be opened. */
struct outbound *outbound_new(const struct config *config,
    struct queue *queue, char **error_r);
/* Stops: sessions are closed (their recipients stay claimed until the
   next start releases them, so nothing is lost; a transaction cut short
   may be sent again), results already in hand are recorded. Accepts
   NULL; sets *outbound to NULL. */
void outbound_free(struct outbound **outbound);
#endif
