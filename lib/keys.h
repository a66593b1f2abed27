/*
 * The etcd layout of paas(7).  Every key paas-tools reads or writes is
 * built by one function here and nowhere else; the prefixes are for ranges
 * and watches.  Every function returns a new string (caller frees).
 *
 *   /paas/v1/hosts/HOST                 {"name","docker","tls":{"ca","cert","key"}|null,
 *                                        "address","insecure","labels":{},
 *                                        "cpu_milli","memory_bytes"}
 *   /paas/v1/deployments/DEP/lock       {"holder","since"}, bound to the holder's lease
 *   /paas/v1/deployments/DEP/release    "N": the current release
 *   /paas/v1/deployments/DEP/releases/N {"release","kind","from","previous","spec",
 *                                        "images","git","time","user","status"}
 *   /paas/v1/instances/DEP/SVC/ID       {"host","address","container","id",
 *                                        "release","version","ports"}
 *   /paas/v1/routes/DOMAIN              {"deployment","service","port","auth":{USER:HASH},
 *                                        "sticky","health","tls"}
 *   /paas/v1/announce/DEP/SVC/ID/CTR12  {"deployment","service","instance","container",
 *                                        "host","address","port","ports","version",
 *                                        "release","healthy"}, bound to the host
 *                                        agent's lease
 *   /paas/v1/agents/HOST                {"host","pid","since","ttl"}, the same lease
 *   /paas/v1/drain/CONTAINER            {"since"}, bound to the deploy lock's lease
 *   /paas/v1/freed/HOST/PORT            {"deployment","time"}: a host port whose
 *                                        container was removed, not handed out
 *                                        again while it lasts (a lease of an hour)
 *   /paas/v1/maintenance/DEP            {"since","page"}: every router answers DEP's
 *                                        domains 503, with page (HTML) or its own
 *   /paas/v1/acme/challenges/TOKEN      the key authorization of an ACME HTTP-01
 *                                        challenge under way, which every router
 *                                        answers (acme.h)
 *   /paas/v1/certs/NAME                 a certificate every router serves, its key
 *                                        sealed (certs.h)
 *   /paas/v1/jobs/DEP/SVC/runs/DUE     {"kind":"job_run","deployment","service","due",
 *                                        "due_unix","host","release","state",...}: one
 *                                        due time of a job (DUE: Unix seconds, 12 digits)
 *   /paas/v1/jobs/DEP/SVC/logs/DUE     the run's output (its last 64 KiB)
 *   /paas/v1/jobs/DEP/SVC/running[/DUE] {"due","host","container"}: a run going on,
 *                                        bound to its agent's lease (/DUE: overlap allowed)
 *   /paas/v1/routers/NAME               {"name","pid","config","revision","time"},
 *                                        bound to the router's lease
 *   /paas/v1/registry                   {"address","ca","managed"}: where images are
 *                                        pushed and pulled (registry.h)
 *   /paas/v1/secrets/DEP/N              {"format","cipher","key_id","nonce","data"}:
 *                                        the ${VAR} values release N ran with,
 *                                        sealed with the cluster's secrets key
 *
 * secrets/ sorts after every other prefix: the etcd roles of paas(7) let
 * agents, routers and check read [PAAS_PREFIX, PAAS_SECRETS_PREFIX), so a
 * new prefix must sort before it.
 *
 * Names reach keys only after paas_valid_name() or paas_valid_domain()
 * (valid.h), so no part holds a '/'.
 */
#ifndef PAAS_KEYS_H
#define PAAS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define PAAS_PREFIX		"/paas/v1/"
#define PAAS_HOSTS_PREFIX	PAAS_PREFIX "hosts/"
#define PAAS_DEPLOYMENTS_PREFIX	PAAS_PREFIX "deployments/"
#define PAAS_INSTANCES_PREFIX	PAAS_PREFIX "instances/"
#define PAAS_ROUTES_PREFIX	PAAS_PREFIX "routes/"
#define PAAS_ANNOUNCE_PREFIX	PAAS_PREFIX "announce/"
#define PAAS_AGENTS_PREFIX	PAAS_PREFIX "agents/"
#define PAAS_DRAIN_PREFIX	PAAS_PREFIX "drain/"
#define PAAS_FREED_PREFIX	PAAS_PREFIX "freed/"
#define PAAS_ROUTERS_PREFIX	PAAS_PREFIX "routers/"
#define PAAS_ACME_PREFIX	PAAS_PREFIX "acme/"
#define PAAS_CERTS_PREFIX	PAAS_PREFIX "certs/"
#define PAAS_JOBS_PREFIX	PAAS_PREFIX "jobs/"
#define PAAS_MAINTENANCE_PREFIX	PAAS_PREFIX "maintenance/"
#define PAAS_SECRETS_PREFIX	PAAS_PREFIX "secrets/"

char *paas_key_host(const char *host);
/* Everything of a deployment's own: its lock, release pointer and records. */
char *paas_key_deployment(const char *dep);
char *paas_key_lock(const char *dep);
char *paas_key_current(const char *dep);
/* n 0: the prefix of every release record of dep. */
char *paas_key_release(const char *dep, int64_t n);
/* svc NULL: the prefix of every instance of dep. */
char *paas_key_instance(const char *dep, const char *svc, const char *id);
char *paas_key_route(const char *domain);
/* svc NULL: the prefix of every announcement of dep.  Only the first 12
 * characters of the container ID are used; of a fleet unit's name
 * (DEP-SVC@VERSION8-ID-RELEASE.service), VERSION8-ID-RELEASE. */
char *paas_key_announce(const char *dep, const char *svc, const char *id,
    const char *container);
/* The last part of container's announcement key, as above: a pointer
 * into container, *len bytes long. */
const char *paas_announce_id(const char *container, int *len);
char *paas_key_agent(const char *host);
char *paas_key_drain(const char *container);
char *paas_key_freed(const char *host, long long port);
char *paas_key_router(const char *name);
char *paas_key_maintenance(const char *dep);
/* An ACME HTTP-01 challenge's key (token: base64url, checked first). */
char *paas_key_acme_challenge(const char *token);
/* A job's key: part "runs", "logs" or "running", due its Unix time (0:
 * none; part NULL with svc NULL: the prefix of every job key of dep, with
 * svc that of the job). */
char *paas_key_job(const char *dep, const char *svc, const char *part, long long due);
/* The cluster's registry (registry.h). */
char *paas_key_registry(void);
/* n 0: the prefix of every secrets record of dep. */
char *paas_key_secrets(const char *dep, int64_t n);

/* What follows prefix in key (the domain of a route, the host of an agent),
 * or NULL when key does not start with prefix.  Borrowed from key. */
const char *paas_key_tail(const char *key, const char *prefix);
/* Component n (0-based) of a tail "a/b/c" into out: 0, or -1 when there is
 * none, it is empty, or it does not fit in size bytes. */
int paas_key_part(const char *tail, int n, char *out, size_t size);
/* N of /paas/v1/deployments/DEP/releases/N, or 0 when key is not one. */
int64_t paas_key_release_num(const char *key);

/* The deployment name the status page's route takes (no deploy may). */
#define PAAS_STATUS_DEPLOYMENT	"paas"

#endif
