/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/policy_eval.h"

#include "analysis/summary.h"
#include "core/error.h"
#include "core/parse.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const metric_names[] = {
    [FITNESS_THROUGHPUT] = "throughput", [FITNESS_GOODPUT] = "goodput",
    [FITNESS_MEAN_TTFT] = "mean_ttft",   [FITNESS_P99_TTFT] = "p99_ttft",
    [FITNESS_MEAN_TPOT] = "mean_tpot",   [FITNESS_P99_TPOT] = "p99_tpot",
    [FITNESS_MEAN_E2E] = "mean_e2e",     [FITNESS_P99_E2E] = "p99_e2e",
};

static int
unknown_metric(const char *what, const char *name)
{
    char valid[256] = "";
    for (int i = 0; i < FITNESS_COUNT; i++) {
        if (i) strcat(valid, ", ");
        strcat(valid, metric_names[i]);
    }
    return config_error("%s: unknown metric '%s' (valid: %s)", what, name, valid);
}

int
fitness_parse(const char *what, const char *text, double weights[FITNESS_COUNT])
{
    double w[FITNESS_COUNT] = {0}, sum = 0;
    char buffer[1024];
    if (strlen(text) >= sizeof buffer) return config_error("%s: too long", what);
    strcpy(buffer, text);
    for (char *item = buffer, *next; item; item = next) {
        if ((next = strchr(item, ','))) *next++ = '\0';
        char *colon = strrchr(item, ':');
        if (!colon) return config_error("%s: '%s' is not NAME:WEIGHT", what, item);
        *colon = '\0';
        int m = 0;
        while (m < FITNESS_COUNT && strcmp(metric_names[m], item) != 0) m++;
        if (m == FITNESS_COUNT) return unknown_metric(what, item);
        const char *why = parse_double(colon + 1, 0, 1e9, &w[m]);
        if (why)
            return config_error("%s: weight of '%s': %s: '%s' (want a number >= 0)", what, item,
                                why, colon + 1);
    }
    for (int m = 0; m < FITNESS_COUNT; m++) sum += w[m];
    if (!(sum > 0)) return config_error("%s: the weights are all zero", what);
    memcpy(weights, w, sizeof w);
    return 0;
}

static double
closeness(const struct latency_stats *st, bool p99)
{
    if (!st->count) return 0;
    double ms = p99 ? st->p99 : st->mean;
    return 1000.0 / (1000.0 + ms);
}

double
fitness_score(const struct summary *s, const double w[FITNESS_COUNT])
{
    const struct summary_section *a = &s->all;
    double total = (double)a->total, terms[FITNESS_COUNT] = {
        [FITNESS_THROUGHPUT] = total > 0 ? (double)a->requests[STATUS_OK] / total : 0,
        [FITNESS_GOODPUT] = total > 0 ? (double)a->slo_met / total : 0,
        [FITNESS_MEAN_TTFT] = closeness(&a->ttft, false),
        [FITNESS_P99_TTFT] = closeness(&a->ttft, true),
        [FITNESS_MEAN_TPOT] = closeness(&a->tpot, false),
        [FITNESS_P99_TPOT] = closeness(&a->tpot, true),
        [FITNESS_MEAN_E2E] = closeness(&a->e2e, false),
        [FITNESS_P99_E2E] = closeness(&a->e2e, true),
    };
    double score = 0, sum = 0;
    for (int m = 0; m < FITNESS_COUNT; m++) {
        score += w[m] * terms[m];
        sum += w[m];
    }
    return score / sum;
}

double
jain_index(const double *x, size_t n)
{
    double sum = 0, squares = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        squares += x[i] * x[i];
    }
    return squares > 0 ? sum * sum / ((double)n * squares) : 1.0;
}

static void
number(FILE *f, double x)
{
    char text[40];
    format_double(text, sizeof text, x);
    fputs(isfinite(x) ? text : "null", f);
}

static void
balance_json(FILE *f, const struct summary *s)
{
    size_t n = s->num_instances;
    double *requests = calloc(n ? n : 1, sizeof *requests);
    double *tokens = calloc(n ? n : 1, sizeof *tokens);
    if (!requests || !tokens) {
        free(requests);
        free(tokens);
        fputs(",\"balance\":null", f);
        return;
    }
    double most = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        const struct summary_section *sec = &s->by_instance[i].section;
        requests[i] = (double)sec->total;
        tokens[i] = (double)(sec->ok_input_tokens + sec->ok_output_tokens);
        sum += requests[i];
        if (requests[i] > most) most = requests[i];
    }
    fprintf(f, ",\"balance\":{\"instances\":%zu,\"requests_jain\":", n);
    number(f, jain_index(requests, n));
    fputs(",\"tokens_jain\":", f);
    number(f, jain_index(tokens, n));
    fputs(",\"requests_max_over_mean\":", f);
    if (sum > 0) number(f, most * (double)n / sum);
    else fputs("null", f);
    fputc('}', f);
    free(requests);
    free(tokens);
}

void
policy_eval_json(FILE *f, const struct summary *s)
{
    const struct summary_section *a = &s->all;
    balance_json(f, s);
    fprintf(f, ",\"anomalies\":{\"rejections\":%" PRId64 ",\"drops\":%" PRId64
               ",\"timeouts\":%" PRId64 ",\"priority_inversions\":%" PRId64
               ",\"preemption_rate\":",
            a->requests[STATUS_REJECTED], a->requests[STATUS_DROPPED], a->requests[STATUS_TIMEOUT],
            s->priority_inversions);
    if (a->total > 0) number(f, (double)a->preemptions / (double)a->total);
    else fputs("null", f);
    if (s->has_steps)
        fprintf(f, ",\"head_of_line_blocked_steps\":%" PRId64
                   ",\"head_of_line_blocked_requests\":%" PRId64 "}",
                s->steps.blocked_steps, s->steps.blocked_requests);
    else
        fputs(",\"head_of_line_blocked_steps\":null,\"head_of_line_blocked_requests\":null}", f);
    fputs(",\"decisions\":", f);
    if (!s->has_decisions) {
        fputs("null", f);
    } else {
        const struct decisions_summary *d = &s->decisions;
        fprintf(f, "{\"count\":%" PRId64 ",\"mean_regret\":", d->decisions);
        number(f, d->mean_regret);
        fputs(",\"max_regret\":", f);
        number(f, d->max_regret);
        fputs(",\"per_instance\":{", f);
        bool first = true;
        for (size_t i = 0; i < d->num_instances; i++) {
            if (!d->per_instance[i]) continue;
            fprintf(f, "%s\"%zu\":%" PRId64, first ? "" : ",", i, d->per_instance[i]);
            first = false;
        }
        fputs("}}", f);
    }
    fputs(",\"fitness\":", f);
    if (!s->options.has_fitness) {
        fputs("null", f);
        return;
    }
    fputs("{\"score\":", f);
    number(f, fitness_score(s, s->options.fitness_weights));
    fputs(",\"weights\":{", f);
    bool first = true;
    for (int m = 0; m < FITNESS_COUNT; m++) {
        if (s->options.fitness_weights[m] == 0) continue;
        fprintf(f, "%s\"%s\":", first ? "" : ",", metric_names[m]);
        number(f, s->options.fitness_weights[m]);
        first = false;
    }
    fputs("}}", f);
}
