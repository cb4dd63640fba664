/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "core/yaml.h"

#include "core/error.h"
#include "core/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static struct yaml_node *
node_new(enum yaml_kind kind, long line)
{
    struct yaml_node *n = calloc(1, sizeof *n);
    if (n) {
        n->kind = kind;
        n->line = line;
    }
    return n;
}

static void
node_free(struct yaml_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->count; i++) {
        if (n->keys) free(n->keys[i]);
        node_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->scalar);
    free(n);
}

static int
node_append(struct yaml_node *parent, char *key, struct yaml_node *child)
{
    size_t count = parent->count + 1;
    struct yaml_node **items = realloc(parent->items, count * sizeof *items);
    if (!items) return -1;
    parent->items = items;
    if (parent->kind == YAML_MAP) {
        char **keys = realloc(parent->keys, count * sizeof *keys);
        if (!keys) return -1;
        parent->keys = keys;
        keys[parent->count] = key;
    }
    items[parent->count] = child;
    parent->count = count;
    return 0;
}

struct loader {
    yaml_parser_t parser;
    const char *name;
};

static int parse_node(struct loader *l, yaml_event_t *event, struct yaml_node **out);

static int
next_event(struct loader *l, yaml_event_t *event)
{
    if (!yaml_parser_parse(&l->parser, event))
        return config_error("%s:%lu: YAML error: %s", l->name,
                            (unsigned long)l->parser.problem_mark.line + 1,
                            l->parser.problem ? l->parser.problem : "syntax error");
    return 0;
}

static int
parse_children(struct loader *l, struct yaml_node *parent, yaml_event_type_t end)
{
    for (;;) {
        yaml_event_t event;
        if (next_event(l, &event)) return ERR_CONFIG;
        if (event.type == end) {
            yaml_event_delete(&event);
            return 0;
        }
        char *key = NULL;
        long key_line = (long)event.start_mark.line + 1;
        if (parent->kind == YAML_MAP) {
            if (event.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&event);
                return config_error("%s:%ld: map keys must be plain scalars", l->name, key_line);
            }
            key = strdup((const char *)event.data.scalar.value);
            yaml_event_delete(&event);
            if (!key) return internal_error("out of memory");
            if (yaml_get(parent, key)) {
                int rc = config_error("%s:%ld: key '%s' appears twice", l->name, key_line, key);
                free(key);
                return rc;
            }
            if (next_event(l, &event)) {
                free(key);
                return ERR_CONFIG;
            }
        }
        struct yaml_node *child = NULL;
        int rc = parse_node(l, &event, &child);
        if (rc == 0 && node_append(parent, key, child) != 0)
            rc = internal_error("out of memory");
        if (rc) {
            free(key);
            node_free(child);
            return rc;
        }
    }
}

/* Builds the node that starts with *event (which it consumes). */
static int
parse_node(struct loader *l, yaml_event_t *event, struct yaml_node **out)
{
    long line = (long)event->start_mark.line + 1;
    struct yaml_node *n = NULL;
    int rc = 0;
    switch (event->type) {
    case YAML_SCALAR_EVENT:
        n = node_new(YAML_SCALAR, line);
        if (n) n->scalar = strdup((const char *)event->data.scalar.value);
        if (!n || !n->scalar) rc = internal_error("out of memory");
        break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
        bool map = event->type == YAML_MAPPING_START_EVENT;
        n = node_new(map ? YAML_MAP : YAML_SEQ, line);
        if (!n) rc = internal_error("out of memory");
        else rc = parse_children(l, n, map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT);
        break;
    }
    case YAML_ALIAS_EVENT:
        rc = config_error("%s:%ld: YAML aliases are not supported", l->name, line);
        break;
    default:
        rc = config_error("%s:%ld: unexpected YAML event", l->name, line);
    }
    yaml_event_delete(event);
    if (rc) {
        node_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int
load(struct loader *l, struct yaml_doc *out)
{
    struct yaml_node *root = NULL;
    yaml_event_t event;
    int rc = 0;
    /* stream start, then document start or stream end (empty file) */
    if ((rc = next_event(l, &event))) return rc;
    yaml_event_delete(&event);
    if ((rc = next_event(l, &event))) return rc;
    if (event.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&event);
        root = node_new(YAML_MAP, 1);
        if (!root) return internal_error("out of memory");
    } else {
        yaml_event_delete(&event);
        if ((rc = next_event(l, &event))) return rc;
        if (event.type == YAML_DOCUMENT_END_EVENT) { /* document with no content */
            yaml_event_delete(&event);
            root = node_new(YAML_MAP, 1);
            if (!root) return internal_error("out of memory");
        } else {
            if ((rc = parse_node(l, &event, &root))) return rc;
            if ((rc = next_event(l, &event))) goto fail;
            yaml_event_delete(&event); /* document end */
        }
        if ((rc = next_event(l, &event))) goto fail;
        bool more = event.type == YAML_DOCUMENT_START_EVENT;
        yaml_event_delete(&event);
        if (more) {
            rc = config_error("%s: more than one YAML document", l->name);
            goto fail;
        }
    }
    if (root->kind == YAML_SCALAR && root->scalar[0] == '\0') root->kind = YAML_MAP;
    if (root->kind != YAML_MAP) {
        rc = config_error("%s:%ld: expected a map at the top level", l->name, root->line);
        goto fail;
    }
    out->root = root;
    return 0;
fail:
    node_free(root);
    return rc;
}

int
yaml_load_text(const char *text, size_t length, const char *name, struct yaml_doc *out)
{
    struct loader l = {.name = name};
    if (!yaml_parser_initialize(&l.parser)) return internal_error("libyaml init failed");
    yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, length);
    struct yaml_doc doc = {.name = strdup(name)};
    int rc = doc.name ? load(&l, &doc) : internal_error("out of memory");
    yaml_parser_delete(&l.parser);
    if (rc) {
        free(doc.name);
        return rc;
    }
    *out = doc;
    return 0;
}

int
yaml_load_file(const char *path, struct yaml_doc *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return config_error("cannot open '%s': %s", path, strerror(errno));
    struct loader l = {.name = path};
    if (!yaml_parser_initialize(&l.parser)) {
        fclose(f);
        return internal_error("libyaml init failed");
    }
    yaml_parser_set_input_file(&l.parser, f);
    struct yaml_doc doc = {.name = strdup(path)};
    int rc = doc.name ? load(&l, &doc) : internal_error("out of memory");
    yaml_parser_delete(&l.parser);
    fclose(f);
    if (rc) {
        free(doc.name);
        return rc;
    }
    *out = doc;
    return 0;
}

void
yaml_doc_free(struct yaml_doc *doc)
{
    node_free(doc->root);
    free(doc->name);
    doc->root = NULL;
    doc->name = NULL;
}

const struct yaml_node *
yaml_get(const struct yaml_node *map, const char *key)
{
    if (!map || map->kind != YAML_MAP) return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i], key) == 0) return map->items[i];
    return NULL;
}

int
yaml_check_keys(const struct yaml_doc *doc, const struct yaml_node *map,
                const char *const *allowed)
{
    for (size_t i = 0; i < map->count; i++) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, map->keys[i]) != 0) a++;
        if (*a) continue;
        char list[1024] = "";
        for (a = allowed; *a; a++) {
            if (a != allowed) strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, *a, sizeof list - strlen(list) - 1);
        }
        return config_error("%s:%ld: unknown key '%s' (known: %s)", doc->name,
                            map->items[i]->line, map->keys[i], list);
    }
    return 0;
}

int
yaml_expect(const struct yaml_doc *doc, const struct yaml_node *node, enum yaml_kind kind,
            const char *what)
{
    static const char *names[] = {"a scalar", "a map", "a list"};
    if (node->kind == kind) return 0;
    return config_error("%s:%ld: '%s' must be %s", doc->name, node->line, what, names[kind]);
}

static const struct yaml_node *
scalar_of(const struct yaml_doc *doc, const struct yaml_node *map, const char *key, int *rc)
{
    const struct yaml_node *n = yaml_get(map, key);
    *rc = 0;
    if (n && yaml_expect(doc, n, YAML_SCALAR, key)) {
        *rc = ERR_CONFIG;
        return NULL;
    }
    return n;
}

#define BAD_VALUE(n, key, why)                                                                     \
    config_error("%s:%ld: '%s': %s: '%s'", doc->name, (n)->line, key, why, (n)->scalar)

int
yaml_get_i64(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
             int64_t min, int64_t max, int64_t *out)
{
    int rc;
    const struct yaml_node *n = scalar_of(doc, map, key, &rc);
    if (!n) return rc;
    const char *why = parse_i64(n->scalar, min, max, out);
    return why ? BAD_VALUE(n, key, why) : 0;
}

int
yaml_get_int(const struct yaml_doc *doc, const struct yaml_node *map, const char *key, int min,
             int max, int *out)
{
    int64_t v = *out;
    int rc = yaml_get_i64(doc, map, key, min, max, &v);
    if (rc == 0) *out = (int)v;
    return rc;
}

int
yaml_get_double(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                double min, double max, double *out)
{
    int rc;
    const struct yaml_node *n = scalar_of(doc, map, key, &rc);
    if (!n) return rc;
    const char *why = parse_double(n->scalar, min, max, out);
    return why ? BAD_VALUE(n, key, why) : 0;
}

int
yaml_get_bool(const struct yaml_doc *doc, const struct yaml_node *map, const char *key, bool *out)
{
    int rc;
    const struct yaml_node *n = scalar_of(doc, map, key, &rc);
    if (!n) return rc;
    const char *why = parse_bool(n->scalar, out);
    return why ? BAD_VALUE(n, key, why) : 0;
}

int
yaml_get_string(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                const char **out)
{
    int rc;
    const struct yaml_node *n = scalar_of(doc, map, key, &rc);
    if (!n) return rc;
    *out = n->scalar;
    return 0;
}

int
yaml_get_double_seq(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                    double min, double max, double *out, int n)
{
    const struct yaml_node *seq = yaml_get(map, key);
    if (!seq) return 0;
    if (yaml_expect(doc, seq, YAML_SEQ, key)) return ERR_CONFIG;
    if (seq->count != (size_t)n)
        return config_error("%s:%ld: '%s' must list exactly %d numbers", doc->name, seq->line, key,
                            n);
    double values[16];
    for (int i = 0; i < n && i < 16; i++) {
        const struct yaml_node *item = seq->items[i];
        if (yaml_expect(doc, item, YAML_SCALAR, key)) return ERR_CONFIG;
        const char *why = parse_double(item->scalar, min, max, &values[i]);
        if (why) return BAD_VALUE(item, key, why);
    }
    memcpy(out, values, sizeof(double) * (size_t)n);
    return 0;
}
