/* deliver_copy.c — what a plus tag does to a copy (mailcow's choices):
   file it into INBOX/<tag>, or put "[tag] " in front of its Subject. */
#include "deliver/deliver_private.h"

#include <stdlib.h>
#include <string.h>

#include "directory/directory.h"
#include "lib/buf.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"
#include "mail/mime.h"
#include "store/store.h"

/* A tagged copy is read whole; larger messages keep their Subject. */
#define DELIVER_COPY_TAG_MAX (64 * 1024 * 1024)

int64_t
deliver_copy_mailbox(struct deliver_store *ds,
    const struct directory_delivery *dl, const char *qid)
{
	struct store_mailbox mb;
	char *name;
	int64_t id = -1;
	int rc;

	if (dl->tag == NULL || dl->plus_mode != DIRECTORY_PLUS_FOLDER)
		return ds->inbox_id;
	name = xasprintf("INBOX%c%s", STORE_SEPARATOR, dl->tag);
	rc = store_mailbox_get(ds->store, name, &mb);
	if (rc == STORE_OK) {
		id = mb.id;
		store_mailbox_clear(&mb);
	} else if (rc == STORE_NOT_FOUND) {
		rc = store_mailbox_create(ds->store, name, 0, &id);
		if (rc == STORE_EXISTS && store_mailbox_get(ds->store, name,
		    &mb) == STORE_OK) {
			id = mb.id;	/* created by another session meanwhile */
			store_mailbox_clear(&mb);
			rc = STORE_OK;
		}
		if (rc == STORE_OK)
			store_mailbox_subscribe(ds->store, name, true);
	}
	if (rc == STORE_INVALID) {
		/* A tag that is no mailbox name ("a/../b"): the mail still
		   arrives, in INBOX. */
		log_info("deliver: qid=%s event=plus-folder-invalid account=%s "
		    "reason=\"%s\"", qid, dl->account,
		    store_error(ds->store));
		id = ds->inbox_id;
	} else if (rc != STORE_OK) {
		log_warn("deliver: qid=%s event=store-failed account=%s "
		    "error=\"%s\"", qid, dl->account, store_error(ds->store));
		id = -1;
	}
	free(name);
	return id;
}

char *
deliver_copy_tagged(const char *path, const char *tag, size_t *len_r)
{
	struct mime_message *msg;
	struct buf out;
	char *data;
	size_t len, off, flen, at;

	if (fsutil_read_file(path, DELIVER_COPY_TAG_MAX, &data, &len) == -1)
		return NULL;
	buf_init(&out, 0);
	msg = mime_parse(data, len, NULL);
	if (mime_header_find(msg, 0, "Subject", 0, &off, &flen) == 0) {
		/* After the colon and the blanks that follow it. Not at
		   off + strlen("Subject:"): the obsolete syntax allows blanks
		   before the colon ("Subject :"), and the tag would then go
		   into the field name. The field found has a colon. */
		const char *colon = memchr(data + off, ':', flen);

		at = colon != NULL ? (size_t)(colon - data) + 1 :
		    off + flen;
		while (at < off + flen && (data[at] == ' ' || data[at] == '\t'))
			at++;
		buf_append(&out, data, at);
		buf_printf(&out, "[%s] ", tag);
		buf_append(&out, data + at, len - at);
	} else {
		/* A new field at the top: always inside the header, whatever
		   shape the rest of the message has. */
		buf_printf(&out, "Subject: [%s]\r\n", tag);
		buf_append(&out, data, len);
	}
	mime_message_free(&msg);
	free(data);
	*len_r = out.len;
	return buf_steal(&out);
}
