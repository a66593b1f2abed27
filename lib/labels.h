/*
 * The Docker labels paas-tools puts on what it runs, as keys.c is for
 * etcd's keys: the only module that spells their names.  An instance's
 * container carries its deployment, service, instance, version and
 * release (and, when its service asks for them, its CPU and memory; under
 * fleet, its unit's name); a one-off container of paas-deploy exec
 * carries paas.run instead, so that nothing counts it as an instance.
 */
#ifndef PAAS_LABELS_H
#define PAAS_LABELS_H

#include <stdint.h>

#include <jansson.h>

#define PAAS_LABEL_DEPLOYMENT	"paas.deployment"
#define PAAS_LABEL_SERVICE	"paas.service"
#define PAAS_LABEL_INSTANCE	"paas.instance"
#define PAAS_LABEL_VERSION	"paas.version"
#define PAAS_LABEL_RELEASE	"paas.release"
#define PAAS_LABEL_UNIT		"paas.unit"
/* A resource label: the prefix and the resource ("cpu_milli",
 * "memory_bytes"). */
#define PAAS_LABEL_PREFIX	"paas."
#define PAAS_LABEL_CPU		"paas.cpu_milli"
#define PAAS_LABEL_MEMORY	"paas.memory_bytes"
#define PAAS_LABEL_RUN		"paas.run"
#define PAAS_LABEL_RUN_SERVICE	"paas.run.service"
#define PAAS_LABEL_RUN_RELEASE	"paas.run.release"
/* A job's template (a container created, never started, holding what its
 * runs run) and its runs, which add the due time (Unix seconds). */
#define PAAS_LABEL_JOB		"paas.job"
#define PAAS_LABEL_JOB_SERVICE	"paas.job.service"
#define PAAS_LABEL_JOB_RELEASE	"paas.job.release"
#define PAAS_LABEL_JOB_SCHEDULE	"paas.job.schedule"
#define PAAS_LABEL_JOB_DUE	"paas.job.due"

/* What an instance's labels say (strings borrowed from the labels
 * object; NULL, or 0, when a label is missing). */
struct paas_labels {
	const char *deployment, *service, *instance, *version, *release, *unit;
	long long cpu_milli, memory_bytes;
};

/* A container's "Labels" object read (labels may be NULL). */
void paas_labels_read(const json_t *labels, struct paas_labels *l);

/* The labels of an instance's container (a new object): deployment,
 * service, instance, release and version, and cpu/memory when non-zero. */
json_t *paas_labels_instance(const char *deployment, const char *service, const char *instance,
    int64_t release, const char *version, long long cpu_milli, long long memory_bytes);

/* The labels of a job's template (a new object): the schedule as JSON. */
json_t *paas_labels_job(const char *deployment, const char *service, int64_t release,
    const json_t *schedule);
/* The labels of a one-off container of exec (a new object). */
json_t *paas_labels_run(const char *deployment, const char *service, int64_t release);

/* Docker's filter for one deployment's containers, "paas.deployment=DEP"
 * (caller frees); every paas container's is PAAS_LABEL_DEPLOYMENT alone. */
char *paas_labels_filter(const char *deployment);

#endif
