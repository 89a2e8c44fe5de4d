/* cmd_trace.c — `petrel trace QUEUE-ID|MESSAGE-ID [--json]`: the story of
   a message from the queue's event table (queued, delivered, deferred,
   bounced, the DSN sent, administrators' actions), kept QUEUE_EVENTS_DAYS
   days after it left the queue. Event text came from the network at one
   remove (remote replies), so it is escaped before it reaches a terminal. */
#include "cli/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "lib/log.h"
#include "queue/queue.h"

int
cli_cmd_trace(struct cli *cli, int argc, char **argv)
{
	struct config *config;
	struct queue *q = NULL;
	struct queue_event *evs = NULL;
	size_t n = 0;
	char *error = NULL, safe[1024];
	int ret;

	if (argc != 2 || argv[1][0] == '-')
		return cli_usage("usage: petrel trace QUEUE-ID|MESSAGE-ID");
	if ((config = cli_config(cli)) == NULL)
		return 1;
	if (queue_open(config->data_dir, &q, &error) == -1 ||
	    queue_trace(q, argv[1], &evs, &n, &error) == -1) {
		ret = cli_error("%s", error);
		free(error);
		queue_close(&q);
		return ret;
	}
	if (n == 0) {
		ret = cli_error("no events for %s", log_str(safe, sizeof(safe),
		    argv[1], strlen(argv[1])));
	} else if (cli->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack(
			    "{s:s,s:I,s:s,s:o,s:o}", "qid", evs[i].qid,
			    "time", (json_int_t)evs[i].time, "event",
			    evs[i].event, "rcpt", evs[i].rcpt ?
			    json_string(evs[i].rcpt) : json_null(),
			    "detail", evs[i].detail ?
			    json_string(evs[i].detail) : json_null()));
		ret = cli_print_json(json_pack("{s:o}", "events", arr));
	} else {
		for (size_t i = 0; i < n; i++) {
			char when[32];
			struct tm tm;

			if (gmtime_r(&evs[i].time, &tm) == NULL ||
			    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			    &tm) == 0)
				snprintf(when, sizeof(when), "@%lld",
				    (long long)evs[i].time);
			printf("%s %s %s", when, evs[i].qid, evs[i].event);
			if (evs[i].rcpt != NULL)
				printf(" to=<%s>", log_str(safe, sizeof(safe),
				    evs[i].rcpt, strlen(evs[i].rcpt)));
			if (evs[i].detail != NULL) {
				/* key=value text: spaces kept readable. */
				putchar(' ');
				for (const char *p = evs[i].detail; *p; p++)
					putchar((unsigned char)*p < 0x20 ||
					    *p == 0x7f ? '?' : *p);
			}
			putchar('\n');
		}
		ret = 0;
	}
	queue_events_free(evs, n);
	queue_close(&q);
	return ret;
}
