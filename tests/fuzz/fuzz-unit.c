/* libFuzzer target: the unit renderer.  Whatever a valid Servicefile holds,
 * every line of every unit must be a line the renderer means to write: a
 * value that could start a line of its own would be an injection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lines.h"
#include "spec.h"
#include "unit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const starts[] = { "[Unit]", "Description=", "After=", "Requires=",
	"[Service]", "Environment=", "# Secrets", "EnvironmentFile=", "Restart=", "RestartSec=",
	"TimeoutStartSec=", "ExecStartPre=", "ExecStart=", "ExecStop=", "[X-Fleet]",
	"MachineMetadata=", "Conflicts=", "Global=", NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct paas_err err = PAAS_ERR_INIT;
	json_t *spec = NULL, *units = NULL, *u;
	size_t i;

	if (paas_spec_parse("fuzz", (const char *)data, size, &spec, &err) < 0)
		return 0;
	if (paas_unit_render(spec, "fuzz", &units, &err) < 0)
		abort();
	json_array_foreach(units, i, u)
		only_lines(json_string_value(json_object_get(u, "content")), starts, 0);
	json_decref(units);
	json_decref(spec);
	return 0;
}
