/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * yaml: a YAML document loaded with libyaml into a small tree that keeps
 * every node's line, plus strict typed getters for configuration code.
 *
 * Aliases, tags and repeated map keys are refused. A yaml_doc owns all its
 * nodes; yaml_doc_free() releases them. Getters take a map node and a key:
 * an absent key leaves *out untouched and returns 0; a present key with a
 * wrong type or an out-of-range value is an error naming file:line and key
 * (ERR_CONFIG). yaml_check_keys() refuses keys that are not listed.
 */
#ifndef SERVESIM_CORE_YAML_H
#define SERVESIM_CORE_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum yaml_kind { YAML_SCALAR, YAML_MAP, YAML_SEQ };

struct yaml_node {
    enum yaml_kind kind;
    long line;                /* 1-based */
    char *scalar;             /* YAML_SCALAR */
    size_t count;             /* entries of a map or a sequence */
    char **keys;              /* YAML_MAP: key texts */
    struct yaml_node **items; /* YAML_MAP values, YAML_SEQ items */
};

struct yaml_doc {
    char *name; /* file name used in messages */
    struct yaml_node *root;
};

/* 0, or ERR_CONFIG (reported). An empty document yields an empty map. */
int yaml_load_file(const char *path, struct yaml_doc *out);
int yaml_load_text(const char *text, size_t length, const char *name, struct yaml_doc *out);
void yaml_doc_free(struct yaml_doc *doc);

const struct yaml_node *yaml_get(const struct yaml_node *map, const char *key);
/* Refuses keys of map not in allowed (a NULL-terminated list). */
int yaml_check_keys(const struct yaml_doc *doc, const struct yaml_node *map,
                    const char *const *allowed);
/* Errors when node is not of the kind wanted; what names it in the message. */
int yaml_expect(const struct yaml_doc *doc, const struct yaml_node *node, enum yaml_kind kind,
                const char *what);

int yaml_get_i64(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                 int64_t min, int64_t max, int64_t *out);
int yaml_get_int(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                 int min, int max, int *out);
int yaml_get_double(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                    double min, double max, double *out);
int yaml_get_bool(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                  bool *out);
/* *out points into the document (valid until yaml_doc_free). */
int yaml_get_string(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                    const char **out);
/* A sequence of exactly n numbers. */
int yaml_get_double_seq(const struct yaml_doc *doc, const struct yaml_node *map, const char *key,
                        double min, double max, double *out, int n);

#endif
