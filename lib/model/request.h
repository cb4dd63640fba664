/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * request: one inference request as the request stream (docs/formats.md)
 * describes it, plus its parsed prefix segments.
 *
 * A request owns its strings and its segment array; request_clear()
 * releases them. The prefix text "NAME:LEN;NAME:LEN" names which leading
 * tokens are shared: segment k covers prompt positions
 * [start_k, start_k + LEN) and holds the first LEN tokens of stream NAME.
 * Tokens after the segments belong to the request alone.
 *
 * A closed-loop round (closed_loop true, round >= 1) is not sent at
 * arrival_us: it is released after_us microseconds after the previous
 * round of its session settles (docs/formats.md, "after_us"), and never
 * before arrival_us, which is only a lower bound. A zeroed request is an
 * ordinary (open-loop) one.
 */
#ifndef SERVESIM_MODEL_REQUEST_H
#define SERVESIM_MODEL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct prefix_segment {
    uint64_t stream;  /* xxh3 of the segment's NAME */
    int64_t length;   /* tokens */
};

struct request {
    int64_t id;
    int64_t arrival_us;
    int64_t input_tokens;
    int64_t output_tokens;
    char *prefix; /* as written in the stream; "" when nothing is shared */
    char *slo_class;
    char *tenant;
    char *session;
    int64_t round;
    bool closed_loop; /* released after_us after the previous round settles */
    int64_t after_us;
    size_t num_segments;
    struct prefix_segment *segments;
    int64_t prefix_tokens; /* sum of segment lengths (<= input_tokens) */
};

/*
 * Parses prefix text into segments. Returns NULL on success (filling
 * *segments, owned by the caller, and the totals) or a reason.
 */
const char *prefix_parse(const char *text, struct prefix_segment **segments, size_t *count,
                         int64_t *total_tokens);

/* Frees what the request owns and zeroes it. */
void request_clear(struct request *request);
/* Deep copy; 0 or ERR_INTERNAL. */
int request_copy(struct request *dst, const struct request *src);

#endif
