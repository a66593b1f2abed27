/*
 * libpaas: the library under every paas-* command.  Clients for etcd v3 (the
 * only state), the Docker Engine API, and the HTTP transport they share.
 * Conventions (see HACKING): functions that can fail return 0 or -1 and take
 * struct paas_err *err last; nothing here prints or exits; each header says
 * who owns what a function returns.
 */
#ifndef PAAS_H
#define PAAS_H

#include "buf.h"
#include "docker.h"
#include "err.h"
#include "etcd.h"
#include "http.h"

#endif
