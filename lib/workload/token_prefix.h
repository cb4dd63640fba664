/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * token_prefix: the prefix column (docs/formats.md) of prompts whose token
 * ids are known, so that a request stream imported from a real run shares
 * exactly the prompt tokens the real prompts shared.
 *
 * Prompts that agree on their first d tokens form a class; the classes of
 * all prompts nest (a trie of the prompts, cut where they branch). Each
 * class that holds two or more prompts becomes one shared token stream,
 * named by where the class starts in the prompts' sorted order and by its
 * depth ("tok17.512"); a prompt's prefix is the chain of classes it belongs
 * to, shallowest first, each segment covering the tokens between the
 * previous class's depth and its own. Two prompts' segment lists then agree
 * position by position exactly where their token ids agree. A prompt's
 * segments stop one token short of its end, so that no output is taken to
 * continue a shared stream (the engine recomputes the last prompt token
 * anyway). Names depend only on the prompts, not on their order.
 *
 * Time O(n log n) comparisons of prompts plus the size of the output.
 */
#ifndef SERVESIM_WORKLOAD_TOKEN_PREFIX_H
#define SERVESIM_WORKLOAD_TOKEN_PREFIX_H

#include <stddef.h>
#include <stdint.h>

struct token_prompt {
    const uint32_t *ids; /* not owned */
    size_t count;
};

/*
 * Fills prefix[i] with the prefix text of prompts[i] for every i < n: a
 * malloc'd string, "" when the prompt shares nothing with another, freed by
 * the caller; and, unless shared is NULL, shared[i] with the number of
 * tokens its segments cover. 0, or ERR_INTERNAL (out of memory) with
 * prefix[] and shared[] untouched.
 */
int token_prefixes(const struct token_prompt *prompts, size_t n, char **prefix, size_t *shared);

#endif
