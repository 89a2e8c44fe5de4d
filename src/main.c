/* main.c — the petrel binary: every subcommand, the server included, is
   dispatched by the command line (cli/cli.c). */
#include "cli/cli.h"

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
