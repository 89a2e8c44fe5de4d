/* migrate_progress.h — what an import or export tells the person running
   it while it runs: a one-line bar on a terminal, redrawn at most ten
   times a second (messages done/total, a bar, MB, messages per second);
   to a log or a pipe, a plain line every 5 seconds or every 1000
   messages. Warnings go through here too, so on a terminal they print
   above the bar instead of through it.

   All output goes to the FILE given (stderr in the CLI: stdout carries
   the result, --json included). Not thread-safe: one per command. */
#ifndef PETREL_MIGRATE_PROGRESS_H
#define PETREL_MIGRATE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct migrate_progress;

/* verb names the work in the lines ("import", "export"). tty: draw the
   bar (the caller asks isatty). quiet: no progress at all (warnings are
   still printed). */
struct migrate_progress *migrate_progress_new(FILE *out, const char *verb,
    bool tty, bool quiet);
/* Removes the bar if one is shown, frees *p and sets it to NULL. */
void migrate_progress_free(struct migrate_progress **p);

/* The totals the bar measures against: messages, or when that is 0
   (unknown) bytes; both 0: no bar. May be changed while running. */
void migrate_progress_set_total(struct migrate_progress *p,
    uint64_t messages, uint64_t bytes);
/* Counts messages (done, skipped or failed alike) and their bytes; prints
   when a line is due. */
void migrate_progress_add(struct migrate_progress *p, uint64_t messages,
    uint64_t bytes);
/* "petrel: <message>" on its own line. */
void migrate_progress_warn(struct migrate_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Removes the bar (the summary comes next). */
void migrate_progress_finish(struct migrate_progress *p);
/* Seconds since migrate_progress_new. */
double migrate_progress_elapsed(const struct migrate_progress *p);

/* Tests: replaces the monotonic clock (seconds). */
void migrate_progress_set_clock(struct migrate_progress *p,
    double (*clock)(void));
#endif
