/* cmd_queue_admin.c — `petrel queue retry ID|--all`, `queue delete
   ID|--all` and `queue bounce ID`: what an administrator does to mail
   stuck in the queue. They work on queue.db beside a running server
   (which sees the change within seconds) or without one. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "queue/queue.h"

int
cli_cmd_queue_admin(struct cli *cli, int argc, char **argv)
{
	const char *verb = argv[1], *id;
	struct config *config;
	struct queue *q = NULL;
	char *error = NULL;
	bool all;
	int n;

	if (argc != 3)
		return cli_usage("usage: petrel queue %s ID%s", verb,
		    strcmp(verb, "bounce") == 0 ? "" : "|--all");
	all = strcmp(argv[2], "--all") == 0;
	if (all && strcmp(verb, "bounce") == 0)
		return cli_usage("queue bounce takes one ID");
	if (!all && argv[2][0] == '-')
		return cli_usage("queue %s: unknown option %s", verb, argv[2]);
	id = all ? NULL : argv[2];
	if ((config = cli_config(cli)) == NULL)
		return 1;
	if (queue_open(config->data_dir, &q, &error) == -1) {
		n = cli_error("%s", error);
		free(error);
		return n;
	}
	if (strcmp(verb, "retry") == 0)
		n = queue_admin_retry(q, id, &error);
	else if (strcmp(verb, "delete") == 0)
		n = queue_admin_delete(q, id, &error);
	else
		n = queue_admin_bounce(q, id, "550 5.0.0 Returned to sender "
		    "by the administrator", &error);
	queue_close(&q);
	if (n == -1) {
		n = cli_error("%s", error);
		free(error);
		return n;
	}
	if (n == 0 && id != NULL)
		return cli_error("no message %s in the queue", id);
	if (!cli->json)
		printf("%s: %d message%s\n", strcmp(verb, "retry") == 0 ?
		    "retried" : strcmp(verb, "delete") == 0 ? "deleted" :
		    "bounced", n, n == 1 ? "" : "s");
	return 0;
}
