/*
 * unit-text NAME BINDIR: the unit `make install` installs for the
 * component NAME (etcd, registry, agent, router), its programs in BINDIR,
 * on standard output.  A build tool, not installed: the units come from
 * lib/unittext.c like every other unit of the cluster's components.
 */
#include <stdio.h>

#include "unittext.h"

int
main(int argc, char **argv)
{
	struct paas_unittext_opts o = { 0 };
	struct paas_buf b = PAAS_BUF_INIT;
	int k;

	if (argc != 3 || (k = paas_unittext_kind_of(argv[1])) < 0) {
		fputs("usage: unit-text etcd|registry|agent|router bindir\n", stderr);
		return 3;
	}
	o.kind = (enum paas_unittext_kind)k;
	o.place = PAAS_UNITTEXT_PACKAGE;
	o.bindir = argv[2];
	paas_unittext(&o, &b);
	fwrite(b.data, 1, b.len, stdout);
	paas_buf_free(&b);
	return fflush(stdout) == 0 ? 0 : 1;
}
