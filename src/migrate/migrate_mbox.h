/* migrate_mbox.h — `petrel import mbox`: one mbox file into the INBOX
   (or --folder), or a directory of them, each file a folder named after
   it (a file named "Inbox", any case, is the INBOX). Thunderbird's
   layout is understood: "Name.sbd/" holds the children of "Name", and
   its index and settings files (.msf, .dat, .json, .html, .sqlite) and
   dot files are passed over. A file that does not start with a From_
   line is reported and skipped.

   Splitting and conversion: mbox_parser.h, mbox_message.h. INTERNALDATE
   is the From_ line's date (else the file's mtime). X-IMAPbase/X-UID
   (Dovecot, UW-IMAP) give UIDVALIDITY and UIDs. The delivery key is
   "import:<target mailbox>:mbox:<n>:<hash>" (n-th message of the file,
   a hash of its bytes), so a re-run of the same file skips what is there
   already, and messages appended to it since are imported.

   The file is mapped read-only: do not import an mbox a mail client is
   writing to at the same time (a file cut short under the mapping kills
   the process with SIGBUS; what was committed stays).

   Blocks on the disk: CLI only. */
#ifndef PETREL_MIGRATE_MBOX_H
#define PETREL_MIGRATE_MBOX_H

struct migrate_import;
struct migrate_progress;

/* Imports path (a file or a directory). folder: as in migrate_maildir.h.
   Returns 0 when it went through to the end (failures reported and
   counted in imp's stats), -1 when it stopped early (reported). */
int migrate_mbox_import(struct migrate_import *imp,
    struct migrate_progress *progress, const char *path, const char *folder);
#endif
