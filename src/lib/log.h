/* log.h — one event, one line, key=value (STYLE.md §6).
   Lines go to stderr (journald or the terminal under `make run`), written
   with one write(2) each so lines from several threads never interleave. */
#ifndef PETREL_LOG_H
#define PETREL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);
/* Prefix each line with an ISO timestamp (off under systemd, which adds one). */
void log_set_timestamps(bool on);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

/* Client text made safe for a log line: control bytes, spaces, quotes,
   backslashes and non-ASCII become \xNN, and at most max_out-1 chars are
   written (a trailing "..." marks the cut). Returns out. */
char *log_str(char *out, size_t max_out, const char *data, size_t len);
/* The same for a value the caller puts in double quotes (reply="..."):
   spaces stay as they are, so remote replies read as sent. */
char *log_text(char *out, size_t max_out, const char *data, size_t len);
#define LOG_STR_MAX 256
#endif
