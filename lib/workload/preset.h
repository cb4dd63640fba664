/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * preset: the workload specs shipped in examples/, compiled into the
 * library (scripts/embed-presets.sh) so that an installed gen-workload
 * needs no file beside it. Presets are listed in name order; the texts are
 * static and never freed.
 */
#ifndef SERVESIM_WORKLOAD_PRESET_H
#define SERVESIM_WORKLOAD_PRESET_H

#include "workload/spec.h"

#include <stddef.h>

struct preset {
    const char *name;        /* the file name without .yaml */
    const char *description; /* the file's top-level description */
    const char *text;
    size_t length;
};

size_t preset_count(void);
const struct preset *preset_at(size_t index);
/* NULL when no preset has that name. */
const struct preset *preset_find(const char *name);
/* Loads preset `name` (messages name it "preset:NAME"); 0, or ERR_CONFIG
 * for an unknown name (reported, listing the known ones). */
int preset_load(const char *name, struct workload_spec *out);

#endif
