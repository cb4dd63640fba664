/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Laws of token_prefixes: two prompts' segment lists agree position by
 * position exactly where their token ids agree (up to the shorter of what
 * each shares); a prompt shares as much as its longest agreement with any
 * other, short of its last token; the texts do not depend on the order the
 * prompts come in. One case is worked out by hand.
 */
#include "workload/token_prefix.h"

#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof *(a))

TEST(token_prefix_hand_case)
{
    /* sorted: A and E (equal), B, C, D; agreements 6, 4, 2, 0: classes of depth 2, 4 and 6
     * all start at sorted position 0 */
    static const uint32_t a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 2, 3, 4, 9}, c[] = {1, 2, 7},
                          d[] = {8, 8}, e[] = {1, 2, 3, 4, 5, 6};
    struct token_prompt prompts[] = {
        {b, COUNT(b)}, {d, COUNT(d)}, {a, COUNT(a)}, {c, COUNT(c)}, {e, COUNT(e)}};
    char *text[COUNT(prompts)];
    size_t shared[COUNT(prompts)];
    CHECK_EQ(token_prefixes(prompts, COUNT(prompts), text, shared), 0);
    static const size_t want[] = {4, 0, 5, 2, 5};
    for (size_t i = 0; i < COUNT(want); i++) CHECK_EQ(shared[i], want[i]);
    CHECK(!strcmp(text[0], "tok0.2:2;tok0.4:2"));
    CHECK(!strcmp(text[1], ""));
    CHECK(!strcmp(text[2], "tok0.2:2;tok0.4:2;tok0.6:1")); /* stops before its last token */
    CHECK(!strcmp(text[3], "tok0.2:2"));
    CHECK(!strcmp(text[4], text[2]));
    for (size_t i = 0; i < COUNT(prompts); i++) free(text[i]);
}

/* Each position of a prompt's shared part as "NAME@OFFSET" (the token's place in its
 * stream); returns how many positions are shared. */
static size_t
labels_of(const char *text, char labels[][32], size_t max)
{
    size_t n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *seg = strtok_r(copy, ";", &save); seg; seg = strtok_r(NULL, ";", &save)) {
        char *colon = strrchr(seg, ':');
        *colon = '\0';
        long length = strtol(colon + 1, NULL, 10);
        for (long k = 0; k < length && n < max; k++) snprintf(labels[n++], 32, "%s@%ld", seg, k);
    }
    free(copy);
    return n;
}

static uint64_t rng_state = 88172645463325252u;

static uint32_t
next(uint32_t bound)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % bound);
}

enum { PROMPTS = 60, MAX_TOKENS = 40 };

TEST(token_prefix_agrees_exactly_where_tokens_agree)
{
    static uint32_t ids[PROMPTS][MAX_TOKENS];
    static char labels_i[MAX_TOKENS][32], labels_j[MAX_TOKENS][32];
    struct token_prompt prompts[PROMPTS], shuffled[PROMPTS];
    size_t place[PROMPTS];
    for (size_t i = 0; i < PROMPTS; i++) {
        /* most prompts copy a random stretch of an earlier one, then go their own way over a
         * small vocabulary (so short chance agreements happen too) */
        size_t count = 1 + next(MAX_TOKENS), copied = 0;
        if (i > 0 && next(4)) {
            size_t from = next((uint32_t)i);
            copied = next((uint32_t)prompts[from].count + 1);
            if (copied > count) copied = count;
            memcpy(ids[i], ids[from], copied * sizeof **ids);
        }
        for (size_t k = copied; k < count; k++) ids[i][k] = next(3);
        prompts[i] = (struct token_prompt){ids[i], count};
        place[i] = i;
    }
    for (size_t i = PROMPTS - 1; i > 0; i--) {
        size_t j = next((uint32_t)i + 1), t = place[i];
        place[i] = place[j], place[j] = t;
    }
    for (size_t i = 0; i < PROMPTS; i++) shuffled[i] = prompts[place[i]];
    char *text[PROMPTS], *text_shuffled[PROMPTS];
    size_t shared[PROMPTS];
    CHECK_EQ(token_prefixes(prompts, PROMPTS, text, shared), 0);
    CHECK_EQ(token_prefixes(shuffled, PROMPTS, text_shuffled, NULL), 0);
    for (size_t i = 0; i < PROMPTS; i++) CHECK(!strcmp(text_shuffled[i], text[place[i]]));

    for (size_t i = 0; i < PROMPTS; i++) {
        size_t shared_i = labels_of(text[i], labels_i, MAX_TOKENS), longest = 0;
        for (size_t j = 0; j < PROMPTS; j++) {
            size_t agree = 0;
            while (agree < prompts[i].count && agree < prompts[j].count &&
                   ids[i][agree] == ids[j][agree])
                agree++;
            if (j != i && agree > longest) longest = agree;
            size_t shared_j = labels_of(text[j], labels_j, MAX_TOKENS);
            size_t both = shared_i < shared_j ? shared_i : shared_j;
            for (size_t k = 0; k < both; k++)
                if ((strcmp(labels_i[k], labels_j[k]) == 0) != (k < agree)) {
                    CHECK(!"segment labels agree exactly where the tokens do");
                    break;
                }
        }
        size_t want = longest < prompts[i].count - 1 ? longest : prompts[i].count - 1;
        CHECK_EQ(shared_i, want);
        CHECK_EQ(shared[i], want);
    }
    for (size_t i = 0; i < PROMPTS; i++) free(text[i]), free(text_shuffled[i]);
}

TEST(token_prefix_of_nothing)
{
    char *none[1] = {NULL};
    CHECK_EQ(token_prefixes(NULL, 0, none, NULL), 0);
    CHECK(none[0] == NULL);
    static const uint32_t one[] = {5, 6, 7};
    struct token_prompt alone = {one, COUNT(one)};
    size_t shared = 9;
    CHECK_EQ(token_prefixes(&alone, 1, none, &shared), 0);
    CHECK(!strcmp(none[0], ""));
    CHECK_EQ(shared, 0);
    free(none[0]);
}

int
main(void)
{
    RUN(token_prefix_hand_case);
    RUN(token_prefix_agrees_exactly_where_tokens_agree);
    RUN(token_prefix_of_nothing);
    return check_done();
}
