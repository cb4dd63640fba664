/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/preset.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* generated from the files examples/NAME.yaml by scripts/embed-presets.sh */
extern const char *const servesim_preset_names[];
extern const char *const servesim_preset_descriptions[];
extern const char *const servesim_preset_texts[];
extern const unsigned long servesim_preset_lengths[];
extern const unsigned long servesim_preset_count;

size_t
preset_count(void)
{
    return servesim_preset_count;
}

const struct preset *
preset_at(size_t index)
{
    static struct preset p;
    if (index >= servesim_preset_count) return NULL;
    p = (struct preset){servesim_preset_names[index], servesim_preset_descriptions[index],
                        servesim_preset_texts[index], servesim_preset_lengths[index]};
    return &p;
}

const struct preset *
preset_find(const char *name)
{
    for (size_t i = 0; i < servesim_preset_count; i++)
        if (strcmp(servesim_preset_names[i], name) == 0) return preset_at(i);
    return NULL;
}

int
preset_load(const char *name, struct workload_spec *out)
{
    const struct preset *p = preset_find(name);
    if (!p) {
        char list[1024] = "";
        for (size_t i = 0; i < servesim_preset_count; i++) {
            if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, servesim_preset_names[i], sizeof list - strlen(list) - 1);
        }
        return config_error("--preset: unknown preset '%s' (known: %s)", name, list);
    }
    char label[128];
    snprintf(label, sizeof label, "preset:%.100s", name);
    return spec_load_text(p->text, p->length, label, NULL, out);
}
