/* migrate_maildir.h — `petrel import maildir`: a Maildir, as Dovecot,
   Courier or mailcow keep one, into an account's store.

   Layout: DIR/cur, DIR/new hold the INBOX; each DIR/.Name (Maildir++,
   maildir_name.h) another folder. DIR may also be a mailbox's home that
   holds Maildir/ (Dovecot's mail_location = maildir:~/Maildir, mailcow's
   /var/vmail/<domain>/<user>/). tmp/ holds deliveries in progress and is
   not read. Dovecot's fs layout (folders as plain subdirectories) is not
   read: such directories are reported.

   Per folder: dovecot-uidlist gives the UIDVALIDITY and UIDs (messages it
   does not list get UIDs after those), dovecot-keywords the names of the
   keyword letters; each file's name its flags ('P' becomes $Forwarded),
   its mtime the INTERNALDATE (Dovecot's received date). The subscriptions
   file (or Courier's courierimapsubscribed) is read last. The delivery key
   is "import:<target mailbox>:<file name base>", so a re-run skips what
   is there already.

   Blocks on the disk: CLI only. */
#ifndef PETREL_MIGRATE_MAILDIR_H
#define PETREL_MIGRATE_MAILDIR_H

struct migrate_import;
struct migrate_progress;

/* The Maildir root in dir (dir itself, or dir/Maildir): heap, or NULL
   when neither has a cur/ directory. */
char *migrate_maildir_root(const char *dir);

/* Imports the Maildir at root (from migrate_maildir_root). folder (NULL:
   none) is the mailbox everything goes under: the INBOX becomes folder,
   ".Sub" folder/Sub. Returns 0 when it went through to the end (failures
   reported and counted in imp's stats), -1 when it stopped early (also
   reported; see the stats for why). */
int migrate_maildir_import(struct migrate_import *imp,
    struct migrate_progress *progress, const char *root, const char *folder);
#endif
