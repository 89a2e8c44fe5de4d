/* fuzz_config.c — config_parse on arbitrary bytes: it must answer with a
   config or an error, never crash, overrun or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *error = NULL;
	struct config *config;

	config = config_parse("fuzz.conf", (const char *)data, size, "/base",
	    &error);
	if ((config == NULL) == (error == NULL))
		abort();	/* exactly one of the two */
	config_free(&config);
	free(error);
	return 0;
}
