/* pop3d_maildrop.h — the maildrop of a POP3 session: INBOX as it was at
   login (RFC 1939 §4: messages delivered later are not shown, numbers
   do not move), with the session's marks, and the UPDATE state that
   applies them at QUIT.

   Message numbers are 1-based positions in the snapshot (ascending UID).
   Sizes are the octets of the stored files, which are what RETR sends
   before dot-stuffing (files are CRLF, RFC 1939 §11 "exact size").
   UIDLs are Dovecot's default "%08Xu%08Xv" (UID, then UIDVALIDITY, in
   hex): unique in the mailbox, stable across restarts, and the same as a
   Dovecot server gave when a migration kept UIDs and UIDVALIDITY, so
   clients that leave mail on the server do not fetch it all again.

   pop3d_maildrop_load and _commit use the store and block: worker threads
   only. The rest is pure and runs on the session's thread. */
#ifndef PETREL_POP3D_MAILDROP_H
#define PETREL_POP3D_MAILDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* 16 hex digits and a NUL (RFC 1939 §7: 1-70 characters 0x21-0x7E). */
#define POP3D_UIDL_SIZE 17

struct pop3d_message {
	uint32_t uid;
	uint64_t size;
	bool deleted;		/* DELE: expunged at QUIT */
	bool retrieved;		/* RETR: \Seen at QUIT */
};

struct pop3d_maildrop {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct pop3d_message *msgs;
	size_t n, cap;
	size_t n_deleted;
	uint64_t size, deleted_size;	/* all messages; those marked */
};

enum pop3d_maildrop_result {
	POP3D_MAILDROP_OK = 0,
	POP3D_MAILDROP_NO_SUCH = -1,	/* 0 or past the last number */
	POP3D_MAILDROP_DELETED = -2,	/* marked by DELE */
};

/* Snapshots INBOX of store. Returns 0 with *md_r (heap; free with
   pop3d_maildrop_free), or -1 with *error_r (heap). Blocks. */
int pop3d_maildrop_load(struct store *store, struct pop3d_maildrop **md_r,
    char **error_r);
/* Accepts NULL; sets *md to NULL. */
void pop3d_maildrop_free(struct pop3d_maildrop **md);

/* For tests and the fuzzer: an empty maildrop, then messages added in
   ascending UID order. */
struct pop3d_maildrop *pop3d_maildrop_new(int64_t mailbox_id,
    uint32_t uidvalidity);
void pop3d_maildrop_add(struct pop3d_maildrop *md, uint32_t uid,
    uint64_t size);

/* Message number (1-based) to its entry. OK with *msg_r, or NO_SUCH or
   DELETED. */
enum pop3d_maildrop_result pop3d_maildrop_get(struct pop3d_maildrop *md,
    uint32_t number, struct pop3d_message **msg_r);
/* STAT: the messages not marked deleted, and their octets. */
void pop3d_maildrop_stat(const struct pop3d_maildrop *md, size_t *count_r,
    uint64_t *size_r);
/* DELE of a message that exists and is not marked yet. */
void pop3d_maildrop_delete(struct pop3d_maildrop *md,
    struct pop3d_message *msg);
/* RSET: no message is deleted or retrieved any more. */
void pop3d_maildrop_reset(struct pop3d_maildrop *md);
/* The unique-id listing of msg. */
void pop3d_maildrop_uidl(const struct pop3d_maildrop *md,
    const struct pop3d_message *msg, char out[POP3D_UIDL_SIZE]);
/* Whether QUIT has anything to write. */
bool pop3d_maildrop_has_changes(const struct pop3d_maildrop *md);

/* UPDATE (RFC 1939 §6), in one store transaction: \Seen on the messages
   retrieved and not deleted, then \Deleted on those marked and an expunge
   of exactly those UIDs (messages another session expunged meanwhile are
   skipped; \Deleted set elsewhere on other messages is left alone).
   Returns 0 with *expunged_r, or -1 with *error_r (heap) and nothing
   changed. Blocks. */
int pop3d_maildrop_commit(struct store *store,
    const struct pop3d_maildrop *md, size_t *expunged_r, char **error_r);
#endif
