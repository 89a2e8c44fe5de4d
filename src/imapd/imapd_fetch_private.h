/* imapd_fetch_private.h — what imapd_fetch.c (the answer loop),
   imapd_fetch_body.c (sections from the message file) and cmd_fetch.c
   share beyond imapd_fetch.h. Nothing outside src/imapd/ includes it. */
#ifndef PETREL_IMAPD_FETCH_PRIVATE_H
#define PETREL_IMAPD_FETCH_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct imap_fetch_att;
struct imapd_fetch;
struct mime_message;
struct store;

/* The message file of the message being answered: mapped read-only
   (pages are read only when touched: a header fetch reads the header)
   and parsed once, whole or up to the end of its header. */
struct imapd_fetch_file {
	const char *data;
	size_t len;
	void *map;			/* munmap(map, len) unless NULL */
	struct mime_message *mime;
	bool header_only;		/* mime covers the header only */
};

/* Opens uid's file; header_only parses only the top-level header.
   0, 1 when the message is gone (expunged meanwhile), -1 on an I/O
   error. */
int imapd_fetch_file_open(struct store *store, int64_t mailbox_id,
    uint32_t uid, bool header_only, struct imapd_fetch_file *file);
void imapd_fetch_file_close(struct imapd_fetch_file *file);

/* The octets a section attribute answers (BODY[...], RFC822*, BINARY[...]
   before the partial is applied): either a range of the file (*data_r
   into file->data) or a copy in tmp (decoded BINARY, HEADER.FIELDS).
   *literal8_r: BINARY wants "~{n}" (RFC 3516 §4.2, as Dovecot chooses).
   0; -1 unknown Content-Transfer-Encoding; -2 undecodable data. */
int imapd_fetch_section(const struct imapd_fetch_file *file,
    const struct imap_fetch_att *att, struct buf *tmp, const char **data_r,
    size_t *len_r, bool *literal8_r);

/* The flags the fetch told the client (FLAGS answered, asked or implied
   by \Seen): the caller passes each to imapd_selected_reported, then
   clears the list. Arrays owned by fetch, valid until the next run. */
size_t imapd_fetch_reported(const struct imapd_fetch *fetch,
    const uint32_t **uids_r, const uint64_t **modseqs_r);
void imapd_fetch_reported_clear(struct imapd_fetch *fetch);
#endif
