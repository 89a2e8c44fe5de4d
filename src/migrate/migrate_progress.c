/* migrate_progress.c — see migrate_progress.h. */
#include "migrate/migrate_progress.h"

#include <stdarg.h>
#include <time.h>

#include "lib/xmalloc.h"

/* A terminal redraw at most this often: smooth to the eye, and a
   million-message import does not spend its time writing to the tty. */
#define MIGRATE_PROGRESS_TTY_INTERVAL 0.1
/* A log gets a line this often, or every so many messages. */
#define MIGRATE_PROGRESS_LOG_INTERVAL 5.0
#define MIGRATE_PROGRESS_LOG_MESSAGES 1000
#define MIGRATE_PROGRESS_BAR_WIDTH 24

struct migrate_progress {
	FILE *out;
	const char *verb;
	bool tty, quiet;
	bool drawn;			/* a bar is on the terminal's line */
	double (*clock)(void);
	double start, last;		/* clock readings */
	uint64_t total, total_bytes;
	uint64_t done, done_bytes;
	uint64_t last_done;		/* at the last log line */
};

static double
migrate_progress_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct migrate_progress *
migrate_progress_new(FILE *out, const char *verb, bool tty, bool quiet)
{
	struct migrate_progress *p = xcalloc(1, sizeof(*p));

	p->out = out;
	p->verb = verb;
	p->tty = tty;
	p->quiet = quiet;
	p->clock = migrate_progress_monotonic;
	p->start = p->last = p->clock();
	return p;
}

void
migrate_progress_free(struct migrate_progress **p)
{
	if (*p == NULL)
		return;
	migrate_progress_finish(*p);
	xfree(p);
}

void
migrate_progress_set_clock(struct migrate_progress *p, double (*clock)(void))
{
	p->clock = clock;
	p->start = p->last = clock();
}

double
migrate_progress_elapsed(const struct migrate_progress *p)
{
	return p->clock() - p->start;
}

void
migrate_progress_set_total(struct migrate_progress *p, uint64_t messages,
    uint64_t bytes)
{
	p->total = messages;
	p->total_bytes = bytes;
}

static double
migrate_progress_mb(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

static void
migrate_progress_draw(struct migrate_progress *p, double now)
{
	double elapsed = now - p->start;
	double rate = elapsed > 0 ? (double)p->done / elapsed : 0;

	if (!p->tty) {
		fprintf(p->out, "petrel: %s: %llu", p->verb,
		    (unsigned long long)p->done);
		if (p->total > 0)
			fprintf(p->out, "/%llu", (unsigned long long)p->total);
		fprintf(p->out, " messages, %.1f MB, %.0f msg/s\n",
		    migrate_progress_mb(p->done_bytes), rate);
		fflush(p->out);
		return;
	}
	fprintf(p->out, "\r%s %llu", p->verb, (unsigned long long)p->done);
	if (p->total > 0)
		fprintf(p->out, "/%llu", (unsigned long long)p->total);
	/* The bar measures messages when their number is known, else bytes
	   (an mbox is not counted ahead). */
	uint64_t done = p->total > 0 ? p->done : p->done_bytes;
	uint64_t total = p->total > 0 ? p->total : p->total_bytes;

	if (total > 0) {
		if (done > total)
			done = total;
		int fill = (int)(done * MIGRATE_PROGRESS_BAR_WIDTH / total);

		fputs(" [", p->out);
		for (int i = 0; i < MIGRATE_PROGRESS_BAR_WIDTH; i++)
			fputc(i < fill ? '#' : '.', p->out);
		fprintf(p->out, "] %3d%%", (int)(done * 100 / total));
	}
	fprintf(p->out, "  %.1f", migrate_progress_mb(p->done_bytes));
	if (p->total_bytes > 0)
		fprintf(p->out, "/%.1f", migrate_progress_mb(p->total_bytes));
	/* ESC [ K: erase what a longer line before left. */
	fprintf(p->out, " MB  %.0f msg/s\033[K", rate);
	fflush(p->out);
	p->drawn = true;
}

void
migrate_progress_add(struct migrate_progress *p, uint64_t messages,
    uint64_t bytes)
{
	double now;

	p->done += messages;
	p->done_bytes += bytes;
	if (p->quiet)
		return;
	now = p->clock();
	if (p->tty) {
		if (now - p->last < MIGRATE_PROGRESS_TTY_INTERVAL && p->drawn)
			return;
	} else if (now - p->last < MIGRATE_PROGRESS_LOG_INTERVAL &&
	    p->done - p->last_done < MIGRATE_PROGRESS_LOG_MESSAGES) {
		return;
	}
	p->last = now;
	p->last_done = p->done;
	migrate_progress_draw(p, now);
}

static void
migrate_progress_clear_line(struct migrate_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", p->out);
		p->drawn = false;
	}
}

void
migrate_progress_warn(struct migrate_progress *p, const char *fmt, ...)
{
	va_list ap;

	migrate_progress_clear_line(p);
	fflush(stdout);		/* keep the order a terminal shows */
	fputs("petrel: ", p->out);
	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
	fputc('\n', p->out);
	fflush(p->out);
}

void
migrate_progress_finish(struct migrate_progress *p)
{
	migrate_progress_clear_line(p);
	fflush(p->out);
}
