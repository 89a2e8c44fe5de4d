/* store_testlib.c — see store_testlib.h. */
#include "store/store_testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/buf.h"
#include "lib/xmalloc.h"

struct store *
store_testlib_open(const char *data_dir, int64_t account_id,
    const struct store_limits *limits)
{
	struct store *store = NULL;
	char *error = NULL;

	if (store_open(data_dir, account_id, limits, &store, &error) !=
	    STORE_OK)
		panic("store_open: %s", error != NULL ? error : "?");
	return store;
}

int64_t
store_testlib_mailbox(struct store *store, const char *name)
{
	struct store_mailbox mbox;
	int64_t id;

	if (store_mailbox_get(store, name, &mbox) != STORE_OK)
		panic("store_mailbox_get %s: %s", name, store_error(store));
	id = mbox.id;
	store_mailbox_clear(&mbox);
	return id;
}

char *
store_testlib_message(size_t size, const char *message_id,
    const char *in_reply_to)
{
	struct buf b;
	size_t line = 0;

	buf_init(&b, 0);
	buf_append_str(&b, "From: Alice <alice@example.org>\r\n"
	    "To: Bob <bob@example.net>\r\n"
	    "Subject: test message\r\n"
	    "Date: Mon, 2 Jun 2025 10:00:00 +0000\r\n");
	if (message_id != NULL)
		buf_printf(&b, "Message-ID: %s\r\n", message_id);
	if (in_reply_to != NULL)
		buf_printf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n",
		    in_reply_to, in_reply_to);
	buf_append_str(&b, "\r\n");
	while (b.len + 2 < size) {
		size_t n = size - b.len - 2 < 70 ? size - b.len - 2 : 70;

		for (size_t i = 0; i < n; i++)
			buf_append(&b, &"abcdefghijklmnopqrstuvwxyz"[
			    (line + i) % 26], 1);
		buf_append_str(&b, "\r\n");
		line++;
	}
	if (b.len < size)
		buf_append_str(&b, "\r\n");
	return buf_steal(&b);
}

int
store_testlib_append(struct store *store, int64_t mailbox_id,
    const char *text, unsigned flags, uint32_t *uid_r)
{
	struct store_append a;

	memset(&a, 0, sizeof(a));
	a.mailbox_id = mailbox_id;
	a.flags = flags;
	a.data = text;
	a.len = strlen(text);
	return store_append(store, &a, uid_r);
}

size_t
store_testlib_count_files(const char *data_dir, int64_t account_id)
{
	char *msg = xasprintf("%s/accounts/%lld/msg", data_dir,
	    (long long)account_id);
	DIR *top = opendir(msg), *sub;
	struct dirent *de, *fe;
	size_t n = 0;

	if (top == NULL)
		panic("opendir %s", msg);
	while ((de = readdir(top)) != NULL) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", msg, de->d_name);
		if ((sub = opendir(path)) != NULL) {
			while ((fe = readdir(sub)) != NULL)
				if (fe->d_name[0] != '.')
					n++;
			closedir(sub);
		}
		free(path);
	}
	closedir(top);
	free(msg);
	return n;
}

size_t
store_testlib_count(struct store *store, int64_t mailbox_id)
{
	uint32_t *uids = NULL;
	size_t n = 0;

	if (store_uids(store, mailbox_id, &uids, &n) != STORE_OK)
		panic("store_uids: %s", store_error(store));
	free(uids);
	return n;
}
