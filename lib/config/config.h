/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config: servesim's configuration, from the embedded defaults.yaml,
 * overridden by YAML files (same schema, every key optional), then by the
 * tools' flags (which write into the struct directly).
 *
 * Every key is checked: an unknown key, a wrong type or an out-of-range
 * value is a configuration error naming file:line (ERR_CONFIG). A config
 * owns its catalog; config_free releases it. Resolving an engine looks up
 * the model, GPU and coefficients and derives the KV pool; an unknown
 * combination is an error that lists the known ones.
 */
#ifndef SERVESIM_CONFIG_CONFIG_H
#define SERVESIM_CONFIG_CONFIG_H

#include "engine/engine_config.h"
#include "model/catalog.h"
#include "workload/generator.h"

#include <stddef.h>

struct config {
    struct workload_config workload;
    struct engine_config engine;
    struct catalog catalog;
};

/* Loads the embedded defaults, then each file in order. 0 or ERR_*. */
int config_load(struct config *config, const char *const *files, size_t num_files);
void config_free(struct config *config);

/* Reads the engine key preemption ("restart" or "resume"): 0, or -1 for another name. */
int config_preemption_parse(const char *name, bool *resume);

/* The engine resolved for a pool of group instances (which matters only
 * under expert parallelism, where they share the experts out): 0 or
 * ERR_CONFIG (reported, listing what is known). */
int config_resolve_engine(const struct config *config, int64_t group, struct engine_params *out);

struct yaml_doc;
struct yaml_node;
/* Applies an `engine:` map (same keys and checks) onto *engine. */
int config_apply_engine(const struct yaml_doc *doc, const struct yaml_node *node,
                        struct engine_config *engine);

#endif
