/* cmd_serve.c — `petrel serve`: the daemon in the foreground. Loads the
   config, opens the queue, checks the directory exists (quickstart made
   it), starts local delivery, creates the server with its listeners,
   wires the services to their listeners, prints what it serves, and
   runs until SIGTERM/SIGINT. Any start-up error is one line and exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "deliver/deliver.h"
#include "directory/directory.h"
#include "lib/log.h"
#include "outbound/outbound.h"
#include "imapd/imapd.h"
#include "pop3d/pop3d.h"
#include "queue/queue.h"
#include "server/server.h"
#include "service/service_login.h"
#include "smtpd/smtpd.h"

static bool
cmd_serve_is_served(enum config_protocol protocol)
{
	return protocol == CONFIG_PROTOCOL_SMTP ||
	    protocol == CONFIG_PROTOCOL_SUBMISSION ||
	    protocol == CONFIG_PROTOCOL_POP3 ||
	    protocol == CONFIG_PROTOCOL_IMAP;
}

/* "smtp       127.0.0.1:2525  (STARTTLS)": names in a column of at least
   ten characters, wider when a name is longer. */
static void
cmd_serve_print_listener(const struct config *config,
    const struct config_listener *l, int width)
{
	bool v6 = strchr(l->address, ':') != NULL;
	char where[128];
	const char *tls = "";

	snprintf(where, sizeof(where), "%s%s%s:%u", v6 ? "[" : "",
	    l->address, v6 ? "]" : "", (unsigned)l->port);
	if (l->tls == CONFIG_TLS_STARTTLS)
		tls = config->tls_cert != NULL ? "  (STARTTLS)" :
		    "  (STARTTLS: no certificate, not offered)";
	else if (l->tls == CONFIG_TLS_IMPLICIT)
		tls = "  (TLS)";
	printf("%-*s %s%s%s\n", width, l->name, where, tls,
	    cmd_serve_is_served(l->protocol) ? "" : "  (not served yet)");
}

int
cli_cmd_serve(struct cli *cli, int argc, char **argv)
{
	const struct config *config;
	struct directory *dir = NULL;
	struct queue *queue = NULL;
	struct deliver *deliver = NULL;
	struct outbound *outbound = NULL;
	struct server *server = NULL;
	struct smtpd *smtpd = NULL;
	struct pop3d *pop3d = NULL;
	struct imapd *imapd = NULL;
	struct service_login *login = NULL;
	char *error = NULL;
	int status = 1, width = 10;

	(void)argv;
	if (argc > 1)
		return cli_usage("serve takes no arguments");
	/* cli_config also sets the log level. */
	if ((config = cli_config(cli)) == NULL)
		return 1;
	/* journald stamps each line itself. */
	log_set_timestamps(getenv("JOURNAL_STREAM") == NULL);

	if (directory_open(config->data_dir, false, &dir, &error) == -1) {
		/* The directory's message names the file and, when it is
		   missing, says to run quickstart. */
		cli_error("cannot open the directory: %s",
		    error != NULL ? error : "unknown error");
		goto out;
	}
	directory_close(&dir);
	if (queue_open(config->data_dir, &queue, &error) == -1) {
		cli_error("cannot open the queue in %s: %s", config->data_dir,
		    error != NULL ? error : "unknown error");
		goto out;
	}
	/* Delivers what an earlier run left in the queue at once. */
	if ((deliver = deliver_new(config->data_dir, queue, NULL,
	    &error)) == NULL) {
		cli_error("cannot start local delivery: %s",
		    error != NULL ? error : "unknown error");
		goto out;
	}
	/* Sends what waits for other domains, and the DSNs owed. */
	if ((outbound = outbound_new(config, queue, &error)) == NULL) {
		cli_error("cannot start outbound delivery: %s",
		    error != NULL ? error : "unknown error");
		goto out;
	}
	if ((server = server_new(config, &error)) == NULL) {
		cli_error("%s", error != NULL ? error : "cannot start server");
		goto out;
	}
	/* One login for every service: one throttle, one cache. */
	login = service_login_new(config);
	smtpd = smtpd_new(config, queue, login);
	server_set_protocol(server, CONFIG_PROTOCOL_SMTP,
	    smtpd_protocol(smtpd, CONFIG_PROTOCOL_SMTP));
	server_set_protocol(server, CONFIG_PROTOCOL_SUBMISSION,
	    smtpd_protocol(smtpd, CONFIG_PROTOCOL_SUBMISSION));
	pop3d = pop3d_new(config, login);
	server_set_protocol(server, CONFIG_PROTOCOL_POP3,
	    pop3d_protocol(pop3d, CONFIG_PROTOCOL_POP3));
	imapd = imapd_new(config, login);
	server_set_protocol(server, CONFIG_PROTOCOL_IMAP,
	    imapd_protocol(imapd, CONFIG_PROTOCOL_IMAP));

	for (size_t i = 0; i < config->n_listeners; i++) {
		size_t n = strlen(config->listeners[i].name);

		if (n > (size_t)width && n < 64)
			width = (int)n;
	}
	for (size_t i = 0; i < config->n_listeners; i++)
		cmd_serve_print_listener(config, &config->listeners[i], width);
	printf("%-*s %s\n", width, "data", config->data_dir);
	fflush(stdout);

	if (server_run(server, &error) == -1) {
		cli_error("%s", error != NULL ? error : "server failed");
		goto out;
	}
	status = 0;
out:
	server_free(&server);
	smtpd_free(&smtpd);
	pop3d_free(&pop3d);
	imapd_free(&imapd);
	service_login_free(&login);
	/* After the sessions (nothing is queued any more), before the
	   queue it reads. */
	outbound_free(&outbound);
	deliver_free(&deliver);
	queue_close(&queue);
	free(error);
	return status;
}
