/*
 * The Docker labels of paas-tools' containers.  See labels.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels.h"

static long long
num(const json_t *labels, const char *k)
{
	const char *s = json_string_value(json_object_get(labels, k));

	return s ? strtoll(s, NULL, 10) : 0;
}

void
paas_labels_read(const json_t *labels, struct paas_labels *l)
{
	l->deployment = json_string_value(json_object_get(labels, PAAS_LABEL_DEPLOYMENT));
	l->service = json_string_value(json_object_get(labels, PAAS_LABEL_SERVICE));
	l->instance = json_string_value(json_object_get(labels, PAAS_LABEL_INSTANCE));
	l->version = json_string_value(json_object_get(labels, PAAS_LABEL_VERSION));
	l->release = json_string_value(json_object_get(labels, PAAS_LABEL_RELEASE));
	l->unit = json_string_value(json_object_get(labels, PAAS_LABEL_UNIT));
	l->cpu_milli = num(labels, PAAS_LABEL_CPU);
	l->memory_bytes = num(labels, PAAS_LABEL_MEMORY);
}

json_t *
paas_labels_instance(const char *deployment, const char *service, const char *instance,
    int64_t release, const char *version, long long cpu_milli, long long memory_bytes)
{
	char rel[32];
	json_t *l;

	snprintf(rel, sizeof(rel), "%" PRId64, release);
	l = json_pack("{s:s, s:s, s:s, s:s, s:s}", PAAS_LABEL_DEPLOYMENT, deployment,
	    PAAS_LABEL_SERVICE, service, PAAS_LABEL_INSTANCE, instance, PAAS_LABEL_RELEASE, rel,
	    PAAS_LABEL_VERSION, version);
	if (cpu_milli)
		json_object_set_new(l, PAAS_LABEL_CPU, json_sprintf("%lld", cpu_milli));
	if (memory_bytes)
		json_object_set_new(l, PAAS_LABEL_MEMORY, json_sprintf("%lld", memory_bytes));
	return l;
}

json_t *
paas_labels_run(const char *deployment, const char *service, int64_t release)
{
	char rel[32];

	snprintf(rel, sizeof(rel), "%" PRId64, release);
	return json_pack("{s:s, s:s, s:s}", PAAS_LABEL_RUN, deployment, PAAS_LABEL_RUN_SERVICE,
	    service, PAAS_LABEL_RUN_RELEASE, rel);
}

char *
paas_labels_filter(const char *deployment)
{
	char *s;

	if (asprintf(&s, PAAS_LABEL_DEPLOYMENT "=%s", deployment) < 0)
		abort();
	return s;
}

json_t *
paas_labels_job(const char *deployment, const char *service, int64_t release,
    const json_t *schedule)
{
	char rel[32], *sched = json_dumps(schedule, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *l;

	snprintf(rel, sizeof(rel), "%" PRId64, release);
	l = json_pack("{s:s, s:s, s:s, s:s}", PAAS_LABEL_JOB, deployment, PAAS_LABEL_JOB_SERVICE,
	    service, PAAS_LABEL_JOB_RELEASE, rel, PAAS_LABEL_JOB_SCHEDULE, sched ? sched : "{}");
	free(sched);
	return l;
}
