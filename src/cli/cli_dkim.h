/* cli_dkim.h — `petrel dkim` (cmd_dkim.c) and the DKIM records of a
   domain for the other commands that print DNS records. */
#ifndef PETREL_CLI_DKIM_H
#define PETREL_CLI_DKIM_H

#include <stdio.h>

struct cli;
struct directory;

/* petrel dkim generate|show|list|activate|deactivate|delete ...; argv[0]
   is "dkim". Returns the exit status. */
int cli_cmd_dkim(struct cli *cli, int argc, char **argv);

/* Writes the zone-file form of every active DKIM key of domain, each line
   starting with indent; nothing when it has none. Returns 0, or -1 after
   printing the error (directory) or when out cannot be written. */
int cli_dkim_print(FILE *out, const char *indent, struct directory *dir,
    const char *domain);
#endif
