/* libFuzzer target: the Servicefile parser.  Any input must give either a
 * spec or one error naming a position, without crashing or leaking. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *spec = NULL;

	if (paas_spec_parse("fuzz", (const char *)data, size, &spec, &err) == 0) {
		char *s = paas_spec_dump(spec);

		free(s);
		json_decref(spec);
	} else if (strncmp(err.msg, "fuzz:", 5) != 0 || strchr(err.msg, '\n') != NULL) {
		abort();	/* every refusal names the file and is one line */
	}
	return 0;
}
