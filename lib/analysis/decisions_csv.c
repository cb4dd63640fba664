/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/decisions_csv.h"

#include "core/csv.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
decisions_csv_write_header(FILE *out)
{
    fputs(DECISIONS_CSV_HEADER "\n", out);
}

void
decisions_csv_write(FILE *out, const struct routing_decision *d)
{
    char number[40];
    fprintf(out, "%" PRId64 ",%" PRId64 ",", d->time_us, d->request_id);
    csv_write_field(out, d->pool);
    format_double(number, sizeof number, d->regret);
    fprintf(out, ",%d,%s,", d->chosen, number);
    for (size_t i = 0; i < d->num_candidates; i++) {
        format_double(number, sizeof number, d->scores[i]);
        fprintf(out, "%s%d:%s", i ? ";" : "", d->ids[i], number);
    }
    fputc('\n', out);
}

enum { TIME, REQUEST, POOL, CHOSEN, REGRET, SCORES };
static const struct csv_column columns[] = {
    {"time_us", true}, {"request", true}, {"pool", true},
    {"chosen", true},  {"regret", true},  {"scores", true},
};

static int
count_choice(struct decisions_summary *s, int64_t chosen)
{
    if ((size_t)chosen >= s->num_instances) {
        size_t n = (size_t)chosen + 1;
        int64_t *grown = realloc(s->per_instance, n * sizeof *grown);
        if (!grown) return internal_error("out of memory");
        memset(grown + s->num_instances, 0, (n - s->num_instances) * sizeof *grown);
        s->per_instance = grown;
        s->num_instances = n;
    }
    s->per_instance[chosen]++;
    return 0;
}

static int
read_all(struct csv_table *t, struct decisions_summary *s)
{
    struct csv_record rec;
    int rc;
    double sum = 0;
    int64_t last_us = 0;
    while ((rc = csv_table_next(t, &rec)) == 1) {
        int64_t time_us, request, chosen;
        double regret;
        if (csv_table_i64(t, &rec, TIME, 0, (int64_t)1 << 62, &time_us) ||
            csv_table_i64(t, &rec, REQUEST, 0, INT64_MAX, &request) ||
            csv_table_i64(t, &rec, CHOSEN, 0, 1 << 20, &chosen))
            return ERR_DATA;
        if (time_us < last_us) return csv_table_bad(t, &rec, TIME, "decreasing");
        last_us = time_us;
        const char *why = parse_double(csv_table_field(t, &rec, REGRET), 0, 1e300, &regret);
        if (why) return csv_table_bad(t, &rec, REGRET, why);
        if (!*csv_table_field(t, &rec, SCORES))
            return csv_table_bad(t, &rec, SCORES, "empty");
        if (count_choice(s, chosen)) return ERR_INTERNAL;
        s->decisions++;
        sum += regret;
        if (regret > s->max_regret) s->max_regret = regret;
    }
    if (rc < 0) return rc;
    s->mean_regret = s->decisions ? sum / (double)s->decisions : 0;
    return 0;
}

int
decisions_summarize(const char *path, struct decisions_summary *out)
{
    FILE *in = fopen(path, "r");
    if (!in) return config_error("cannot open '%s': %s", path, strerror(errno));
    struct csv_table t;
    struct decisions_summary s = {0};
    int rc = csv_table_open(&t, in, path, columns, sizeof columns / sizeof *columns);
    if (!rc) {
        rc = read_all(&t, &s);
        csv_table_close(&t);
    }
    fclose(in);
    if (rc) {
        decisions_summary_free(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void
decisions_summary_free(struct decisions_summary *s)
{
    free(s->per_instance);
    s->per_instance = NULL;
}
