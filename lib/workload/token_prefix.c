/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/token_prefix.h"

#include "core/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    const uint32_t *ids;
    size_t count, index;
};

/* A class of prompts agreeing on their first `depth` tokens: those sorted at positions
 * start, start + 1, ...; parent is the next shallower class holding them (the root, class
 * 0, holds every prompt at depth 0). */
struct class
{
    size_t depth, start, parent;
};

static size_t
common_length(const struct entry *a, const struct entry *b)
{
    size_t n = a->count < b->count ? a->count : b->count, k = 0;
    while (k < n && a->ids[k] == b->ids[k])
        k++;
    return k;
}

static int
compare_prompts(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    size_t k = common_length(a, b);
    if (k < a->count && k < b->count) return a->ids[k] < b->ids[k] ? -1 : 1;
    return (a->count > b->count) - (a->count < b->count);
}

/* The prefix text of one prompt from its deepest class: the chain of classes up to the
 * root, written shallowest first, stopping one token before the prompt's end; *shared is
 * the number of tokens the segments cover. */
static char *
prefix_text(size_t count, const struct class *classes, size_t deepest, size_t *chain,
            size_t *shared_tokens)
{
    size_t length = 0;
    for (size_t c = deepest; c != 0; c = classes[c].parent) chain[length++] = c;
    char *text = NULL;
    size_t size, shared = 0, limit = count ? count - 1 : 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) return NULL;
    while (length > 0) {
        const struct class *c = &classes[chain[--length]];
        size_t end = c->depth < limit ? c->depth : limit;
        if (end <= shared) break;
        fprintf(out, "%stok%zu.%zu:%zu", shared ? ";" : "", c->start, c->depth, end - shared);
        shared = end;
    }
    *shared_tokens = shared;
    if (fclose(out)) {
        free(text);
        return NULL;
    }
    return text;
}

int
token_prefixes(const struct token_prompt *prompts, size_t n, char **prefix, size_t *shared)
{
    size_t slots = n + 1;
    struct entry *sorted = malloc(slots * sizeof *sorted);
    size_t *lcp = malloc(slots * sizeof *lcp); /* lcp[p]: what sorted p - 1 and p agree on */
    size_t *top_at = malloc(slots * sizeof *top_at);
    struct class *classes = malloc(slots * sizeof *classes);
    size_t *open = malloc(slots * sizeof *open), *chain = malloc(slots * sizeof *chain);
    char **text = calloc(slots, sizeof *text);
    size_t *length = malloc(slots * sizeof *length);
    int rc = sorted && lcp && top_at && classes && open && chain && text && length ? 0
                                                                                    : ERR_INTERNAL;
    for (size_t i = 0; !rc && i < n; i++)
        sorted[i] = (struct entry){prompts[i].ids, prompts[i].count, i};
    if (!rc) {
        qsort(sorted, n, sizeof *sorted, compare_prompts);
        lcp[0] = lcp[n] = 0;
        for (size_t p = 1; p < n; p++) lcp[p] = common_length(&sorted[p - 1], &sorted[p]);
        /*
         * The classes nest: sweep the sorted prompts with a stack of the open classes
         * (depths strictly increasing), closing those deeper than lcp[p] and opening one of
         * depth lcp[p] where none is open. A closed class's parent is the next class on the
         * stack, or the one opened in its place when that is shallower than it and deeper
         * than the rest. After step p the top is the deepest class holding p - 1 and p.
         */
        size_t count = 1, height = 1;
        classes[0] = (struct class){0, 0, 0};
        open[0] = top_at[0] = 0;
        for (size_t p = 1; p <= n; p++) {
            size_t start = p - 1, closed = SIZE_MAX;
            while (lcp[p] < classes[open[height - 1]].depth) {
                closed = open[--height];
                start = classes[closed].start;
                if (lcp[p] <= classes[open[height - 1]].depth) {
                    classes[closed].parent = open[height - 1];
                    closed = SIZE_MAX;
                }
            }
            if (lcp[p] > classes[open[height - 1]].depth) {
                classes[count] = (struct class){lcp[p], start, open[height - 1]};
                if (closed != SIZE_MAX) classes[closed].parent = count;
                open[height++] = count++;
            }
            top_at[p] = open[height - 1];
        }
    }
    /* The deepest class holding p is the deeper of those holding p - 1 and p, and p and
     * p + 1. */
    for (size_t p = 0; !rc && p < n; p++) {
        size_t deepest = lcp[p] >= lcp[p + 1] ? top_at[p] : top_at[p + 1];
        size_t i = sorted[p].index;
        text[i] = prefix_text(sorted[p].count, classes, deepest, chain, &length[i]);
        if (!text[sorted[p].index]) rc = ERR_INTERNAL;
    }
    if (!rc) memcpy(prefix, text, n * sizeof *prefix);
    if (!rc && shared) memcpy(shared, length, n * sizeof *shared);
    for (size_t i = 0; rc && text && i < n; i++) free(text[i]);
    free(text);
    free(length);
    free(chain);
    free(open);
    free(classes);
    free(top_at);
    free(lcp);
    free(sorted);
    return rc ? internal_error("out of memory") : 0;
}
