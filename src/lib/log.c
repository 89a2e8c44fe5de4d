/* log.c — see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_min_level = LOG_LEVEL_INFO;
static bool log_timestamps = true;

static const char *const log_level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

void
log_set_level(enum log_level level)
{
	log_min_level = level;
}

void
log_set_timestamps(bool on)
{
	log_timestamps = on;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	size_t len = 0;
	va_list ap;
	int n;

	if (level < log_min_level)
		return;
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line + len, sizeof(line) - len, ".%03ldZ ",
		    ts.tv_nsec / 1000000);
		if (n > 0)
			len += (size_t)n;
	}
	n = snprintf(line + len, sizeof(line) - len, "%s ",
	    log_level_names[level]);
	if (n > 0)
		len += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* One write per line: atomic for lines under PIPE_BUF on pipes. */
	(void)!write(STDERR_FILENO, line, len);
}

static char *
log_escape(char *out, size_t max_out, const char *data, size_t len,
    bool spaces)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (max_out == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		bool plain = (c > 0x20 || (spaces && c == 0x20)) && c < 0x7f &&
		    c != '"' && c != '\\';
		size_t need = plain ? 1 : 4;

		if (o + need + 4 > max_out) {
			if (o + 4 <= max_out) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return out;
}

char *
log_str(char *out, size_t max_out, const char *data, size_t len)
{
	return log_escape(out, max_out, data, len, false);
}

char *
log_text(char *out, size_t max_out, const char *data, size_t len)
{
	return log_escape(out, max_out, data, len, true);
}
