/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cluster_config: the `--cluster FILE.yaml` file (docs/cluster.md): the
 * policies and the pools of a cluster, each pool an engine given as
 * overrides of the configured one (same keys as `engine:`), resolved
 * against the catalog. Strict like every configuration file: an unknown
 * key, policy or scorer, a bad weight, a pool naming an unknown model or
 * GPU is ERR_CONFIG naming file:line. The cluster is the caller's
 * (cluster_free).
 */
#ifndef SERVESIM_CONFIG_CLUSTER_CONFIG_H
#define SERVESIM_CONFIG_CLUSTER_CONFIG_H

#include "cluster/cluster.h"
#include "config/config.h"

/* Without pools, one mixed pool of `instances` (default 1) of the configured
 * engine; instances > 0 overrides the file's (an error when it has pools). */
int cluster_config_load(const struct config *config, const char *path, int64_t instances,
                        struct cluster *out);

#endif
