/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "workload/transform.h"

#include "core/error.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The request stream's time limit (docs/formats.md). */
#define MAX_TIME_US ((int64_t)1 << 60)

void
transform_options_init(struct transform_options *o)
{
    *o = (struct transform_options){1.0, 1.0, 0.0, -1.0, -1, 1};
}

int
transform_options_validate(const struct transform_options *o)
{
    if (!(o->rate_scale > 0) || !(o->time_scale > 0))
        return config_error("--rate-scale and --time-scale must be > 0");
    if (!(o->start_s >= 0)) return config_error("--start must be >= 0");
    if (o->duration_s == 0) return config_error("--duration must be > 0");
    if (o->tile < 1) return config_error("--tile must be >= 1");
    return 0;
}

void
transform_init(struct transform *t, const struct transform_options *options,
               struct request_source source)
{
    *t = (struct transform){.options = *options, .source = source};
    t->factor = options->time_scale / options->rate_scale;
}

static int64_t
seconds_to_us(double s)
{
    double us = s * 1e6;
    return us >= (double)MAX_TIME_US ? MAX_TIME_US : llround(us);
}

/* NAME:LEN;... -> NAME/tK:LEN;...  and  NAME -> NAME/tK. */
static char *
rename_streams(const char *text, int64_t copy)
{
    char suffix[32];
    snprintf(suffix, sizeof suffix, "/t%" PRId64, copy);
    size_t segments = 1;
    for (const char *p = text; *p; p++)
        segments += *p == ';';
    char *out = malloc(strlen(text) + segments * strlen(suffix) + 1);
    if (!out) return NULL;
    char *w = out;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, ';');
        size_t length = end ? (size_t)(end - p) : strlen(p);
        const char *colon = NULL;
        for (const char *c = p; c < p + length; c++)
            if (*c == ':') colon = c;
        size_t name = colon ? (size_t)(colon - p) : length;
        memcpy(w, p, name);
        w += name;
        w += sprintf(w, "%s", suffix);
        memcpy(w, p + name, length - name);
        w += length - name;
        if (!end) break;
        *w++ = ';';
        p = end + 1;
    }
    *w = '\0';
    return out;
}

static int
rename_copy(struct request *q, int64_t copy)
{
    if (q->prefix && *q->prefix) {
        char *renamed = rename_streams(q->prefix, copy);
        if (!renamed) return internal_error("out of memory");
        free(q->prefix);
        q->prefix = renamed;
        free(q->segments);
        q->segments = NULL;
        q->num_segments = 0;
    }
    if (q->session && *q->session) {
        char *renamed = rename_streams(q->session, copy);
        if (!renamed) return internal_error("out of memory");
        /* a session name holds no ":LEN", so rename_streams only appends */
        free(q->session);
        q->session = renamed;
    }
    return 0;
}

/* The current pass ended: start the next copy, or finish. 1 = go on, 0 = done. */
static int
next_copy(struct transform *t)
{
    if (t->copy + 1 >= t->options.tile || t->pass_count == 0) return 0;
    if (t->copy == 0) {
        if (t->options.duration_s > 0) {
            t->period_us = seconds_to_us(t->options.duration_s * t->factor);
        } else {
            int64_t gap = t->pass_count > 1 ? (t->last_us - t->first_us) / (t->pass_count - 1) : 0;
            t->period_us = t->last_us + gap;
        }
        if (t->period_us < 1) t->period_us = 1;
    }
    if (!t->source.restart) return config_error("--tile needs a source that can be read again");
    int rc = t->source.restart(t->source.context);
    if (rc) return rc;
    t->copy++;
    t->pass_count = 0;
    t->last_source_us = INT64_MIN;
    return 1;
}

int
transform_next(struct transform *t, struct request *out)
{
    const struct transform_options *o = &t->options;
    int64_t start_us = seconds_to_us(o->start_s);
    int64_t end_us = o->duration_s > 0 ? seconds_to_us(o->start_s + o->duration_s) : INT64_MAX;
    while (!t->done) {
        if (o->limit >= 0 && t->emitted >= o->limit) break;
        struct request q;
        int rc = t->source.next(t->source.context, &q);
        if (rc < 0) return rc;
        if (rc == 1 && !t->have_origin) {
            t->have_origin = true;
            t->origin_us = q.arrival_us;
            t->last_source_us = q.arrival_us;
        }
        int64_t rel = rc == 1 ? q.arrival_us - t->origin_us : 0;
        if (rc == 1 && q.arrival_us < t->last_source_us) {
            request_clear(&q);
            return internal_error("transform: source out of order");
        }
        if (rc == 1) t->last_source_us = q.arrival_us;
        if (rc == 0 || rel >= end_us) {
            if (rc == 1) request_clear(&q);
            if ((rc = next_copy(t)) < 0) return rc;
            if (rc == 0) break;
            continue;
        }
        if (rel < start_us) {
            request_clear(&q);
            continue;
        }
        int64_t scaled = seconds_to_us((double)(rel - start_us) * 1e-6 * t->factor);
        if (t->copy == 0) {
            if (t->pass_count == 0) t->first_us = scaled;
            t->last_us = scaled;
        }
        if (t->period_us > 0 && t->copy > (MAX_TIME_US - scaled) / t->period_us) {
            request_clear(&q);
            return config_error("--tile: copy %" PRId64 " would pass the stream's time limit (2^60 us)",
                                t->copy);
        }
        if (scaled >= MAX_TIME_US) {
            request_clear(&q);
            return config_error("--time-scale/--rate-scale: arrival passes the time limit (2^60 us)");
        }
        q.arrival_us = scaled + t->copy * t->period_us;
        if (t->copy > 0 && (rc = rename_copy(&q, t->copy))) {
            request_clear(&q);
            return rc;
        }
        q.id = t->emitted++;
        t->pass_count++;
        *out = q;
        return 1;
    }
    t->done = true;
    return 0;
}
