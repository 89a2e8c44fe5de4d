/* maildir_name.h — folder names as Dovecot keeps them on disk and petrel
   mailbox names ("Folder/Sub", UTF-8, store.h).

   Maildir++ (Courier's layout, Dovecot's default): a folder is the
   directory ".Folder.Sub" next to the INBOX's cur/ new/ tmp/, '.' joining
   the levels, each level in modified UTF-7 (mail/mutf7.h). Dovecot's
   subscriptions file and fs layout use the same level spelling.

   Two things a level cannot say plainly are escaped the way Dovecot's
   listescape plugin does: '.' (the separator) as "\2e" and '\' itself as
   "\5c"; export writes them so and import reads them back, so a mailbox
   named "v1.2" survives the round trip. Reading is lenient where
   Dovecot's configurations differ: a level that is not modified UTF-7 but
   is UTF-8 (mail_utf8 setups) is taken as it is.

   Pure functions; thread-safe. */
#ifndef PETREL_MAILDIR_NAME_H
#define PETREL_MAILDIR_NAME_H

#include <stddef.h>

struct buf;

/* Appends the UTF-8 name of one stored level s[0..len). Returns 0, or -1
   (out as it was) when s is neither modified UTF-7 nor UTF-8, is empty,
   or stands for a NUL (a name is a C string). */
int maildir_name_level_decode(const char *s, size_t len, struct buf *out);
/* Appends the stored form of the UTF-8 level s[0..len). 0, or -1 (out as
   it was) when s is not UTF-8 or empty. */
int maildir_name_level_encode(const char *s, size_t len, struct buf *out);

/* The mailbox a Maildir++ directory name (".Folder.Sub", with its leading
   dot) holds: "Folder/Sub", heap. A first level "INBOX" in any case is
   spelled "INBOX". NULL when a level is empty or does not decode. */
char *maildir_name_from_dir(const char *dirname);

/* The Maildir++ directory name for mailbox ("Folder/Sub" ->
   ".Folder.Sub"), heap; "" for INBOX. NULL when a level does not
   encode. */
char *maildir_name_to_dir(const char *mailbox);

/* The mailbox named by s[0..len) whose levels are separated by any byte
   of seps ("." for Maildir++ storage names, "\t" in a version 2
   subscriptions file), each level decoded as above. Heap, or NULL. */
char *maildir_name_from_levels(const char *s, size_t len, const char *seps);
#endif
