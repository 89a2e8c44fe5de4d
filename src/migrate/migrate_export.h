/* migrate_export.h — `petrel export`: an account's store as a Maildir++
   that Dovecot reads as its own (and petrel import reads back the same):

	DIR/cur, new, tmp               the INBOX
	DIR/.Name.Sub/cur, new, tmp     other mailboxes (maildir_name.h),
	                                with a maildirfolder file
	<folder>/dovecot-uidlist        UIDVALIDITY, next UID, each UID's file
	<folder>/dovecot-keywords       the keyword letters used
	DIR/subscriptions               version 2 (maildir_subscriptions.h)

   Messages are the stored bytes (CRLF, which Dovecot reads as they are)
   in cur/, named as maildir_filename.h says, their mtime the INTERNALDATE.
   Each is written to tmp/, fsynced and renamed into cur/; the directories
   are fsynced once per folder.

   Re-runnable: a file exported before for a UID (same UIDVALIDITY) is not
   written again, only renamed when the flags changed; the keyword letters
   of an earlier dovecot-keywords are kept. Files for UIDs expunged since
   are left alone (export into an empty directory for an exact copy). A
   mailbox with more than 26 distinct keywords loses the rest in the
   Maildir (Dovecot keeps them only in its index): reported.

   Blocks on the disk: CLI only. */
#ifndef PETREL_MIGRATE_EXPORT_H
#define PETREL_MIGRATE_EXPORT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

struct migrate_progress;
struct store;

struct migrate_export_stats {
	uint64_t exported;		/* files written */
	uint64_t skipped;		/* present already */
	uint64_t failed;		/* reported: messages, folders */
	uint64_t bytes;			/* of the files written */
	unsigned folders;
	bool interrupted;		/* stopped: *stop was set */
	bool io_error;			/* stopped: the store failed */
};

/* Exports the store into dir (created if missing). stop (may be NULL) is
   polled between messages. Returns 0 when it went through to the end
   (failures reported and counted), -1 when it stopped early (reported;
   see the stats). */
int migrate_export(struct store *store, struct migrate_progress *progress,
    const char *dir, const volatile sig_atomic_t *stop,
    struct migrate_export_stats *stats);
#endif
