/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gen-workload: writes a synthetic request stream (docs/formats.md) to
 * stdout, one request at a time. Settings come from the embedded
 * defaults.yaml, then each --config file, then the other flags.
 */
#include "config/config.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"
#include "workload/generator.h"
#include "workload/preset.h"
#include "workload/request_csv.h"
#include "workload/spec.h"
#include "workload/spec_stream.h"
#include "workload/trace_import.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION "0.1.0"
#define MAX_COUNT ((int64_t)1 << 40)

enum option_id {
    OPT_RATE = 256,
    OPT_ARRIVAL,
    OPT_CV,
    OPT_SEED,
    OPT_CONFIG,
    OPT_HELP,
    OPT_VERSION,
    OPT_PROMPT_TOKENS,
    OPT_PROMPT_STDEV,
    OPT_PROMPT_MIN,
    OPT_PROMPT_MAX,
    OPT_OUTPUT_TOKENS,
    OPT_OUTPUT_STDEV,
    OPT_OUTPUT_MIN,
    OPT_OUTPUT_MAX,
    OPT_PREFIX_TOKENS,
    OPT_SLO_CLASS,
    OPT_TENANT,
    OPT_SPEC,
    OPT_PRESET,
    OPT_LIST_PRESETS,
    OPT_TRACE, /* --from and its flags: trace_option_set() applies them */
    OPT_NUM_REQUESTS = 'n',
};

static const struct option options[] = {
    {"rate", required_argument, NULL, OPT_RATE},
    {"num-requests", required_argument, NULL, OPT_NUM_REQUESTS},
    {"arrival", required_argument, NULL, OPT_ARRIVAL},
    {"cv", required_argument, NULL, OPT_CV},
    {"prompt-tokens", required_argument, NULL, OPT_PROMPT_TOKENS},
    {"prompt-stdev", required_argument, NULL, OPT_PROMPT_STDEV},
    {"prompt-min", required_argument, NULL, OPT_PROMPT_MIN},
    {"prompt-max", required_argument, NULL, OPT_PROMPT_MAX},
    {"output-tokens", required_argument, NULL, OPT_OUTPUT_TOKENS},
    {"output-stdev", required_argument, NULL, OPT_OUTPUT_STDEV},
    {"output-min", required_argument, NULL, OPT_OUTPUT_MIN},
    {"output-max", required_argument, NULL, OPT_OUTPUT_MAX},
    {"prefix-tokens", required_argument, NULL, OPT_PREFIX_TOKENS},
    {"slo-class", required_argument, NULL, OPT_SLO_CLASS},
    {"tenant", required_argument, NULL, OPT_TENANT},
    {"seed", required_argument, NULL, OPT_SEED},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"spec", required_argument, NULL, OPT_SPEC},
    {"preset", required_argument, NULL, OPT_PRESET},
    {"list-presets", no_argument, NULL, OPT_LIST_PRESETS},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"from", required_argument, NULL, OPT_TRACE},
    {"rate-scale", required_argument, NULL, OPT_TRACE},
    {"time-scale", required_argument, NULL, OPT_TRACE},
    {"start", required_argument, NULL, OPT_TRACE},
    {"duration", required_argument, NULL, OPT_TRACE},
    {"limit", required_argument, NULL, OPT_TRACE},
    {"tile", required_argument, NULL, OPT_TRACE},
    {"tick-ms", required_argument, NULL, OPT_TRACE},
    {"time-col", required_argument, NULL, OPT_TRACE},
    {"time-unit", required_argument, NULL, OPT_TRACE},
    {"input-col", required_argument, NULL, OPT_TRACE},
    {"output-col", required_argument, NULL, OPT_TRACE},
    {"slo-class-col", required_argument, NULL, OPT_TRACE},
    {"tenant-col", required_argument, NULL, OPT_TRACE},
    {"session-col", required_argument, NULL, OPT_TRACE},
    {NULL, 0, NULL, 0},
};

static void
usage(const struct workload_config *w)
{
    char rate[32], cv[32], pm[32], ps[32], om[32], os[32];
    format_double(rate, sizeof rate, w->rate_per_s);
    format_double(cv, sizeof cv, w->cv);
    format_double(pm, sizeof pm, w->prompt.mean);
    format_double(ps, sizeof ps, w->prompt.stdev);
    format_double(om, sizeof om, w->output.mean);
    format_double(os, sizeof os, w->output.stdev);
    printf(
        "Usage: gen-workload [OPTIONS]\n"
        "Write a synthetic request stream (CSV, docs/formats.md) to stdout, one request\n"
        "at a time. Settings: the built-in defaults.yaml, then each --config file, then\n"
        "the flags below (the current value of each is shown in brackets).\n"
        "\n"
        "  --rate R               mean arrival rate, requests/s, > 0 [%s]\n"
        "  -n, --num-requests N   number of requests, >= 0 [%" PRId64 "]\n"
        "  --arrival PROCESS      poisson | constant | gamma [%s]\n"
        "  --cv X                 gamma only: coefficient of variation of the gaps, > 0 [%s]\n"
        "  --prompt-tokens MEAN   prompt length, gaussian: mean [%s]\n"
        "  --prompt-stdev S       standard deviation [%s]\n"
        "  --prompt-min A         clamped to [A, B], A >= 1 [%" PRId64 "]\n"
        "  --prompt-max B         [%" PRId64 "]\n"
        "  --output-tokens MEAN   output length, likewise: mean [%s]\n"
        "  --output-stdev S       [%s]\n"
        "  --output-min A         [%" PRId64 "]\n"
        "  --output-max B         [%" PRId64 "]\n"
        "  --prefix-tokens K      shared system prompt: prefix 'system:K', input_tokens =\n"
        "                         K + the sampled prompt length; 0 = none [%" PRId64 "]\n"
        "  --slo-class NAME       [%s]\n"
        "  --tenant NAME          [%s]\n"
        "  --seed S               run seed; same seed and flags = same bytes [%" PRIu64 "]\n"
        "  --config FILE          YAML overrides (repeatable, applied in order)\n"
        "  --spec FILE            workload spec (YAML, docs/workloads.md) instead of the\n"
        "                         flags above; only -n and --seed may be combined with it\n"
        "  --preset NAME          a built-in workload spec (see --list-presets)\n"
        "  --list-presets         list the presets with a one-line description\n"
        "  --help, --version\n"
        "\n"
        "Real traces (docs/traces.md): gen-workload --from FORMAT FILE [FLAGS]\n"
        "  FORMAT: azure | mooncake | burstgpt | servegen (FILE: a client directory) |\n"
        "  csv (--time-col C --time-unit s|ms|us --input-col C --output-col C\n"
        "  [--slo-class-col C] [--tenant-col C] [--session-col C]); mooncake: --tick-ms W.\n"
        "  Any source: --start S --duration S (window, source seconds from the first\n"
        "  request), --rate-scale R, --time-scale F, --tile K, --limit N; --seed S.\n"
        "\n"
        "Arrivals: a renewal process starting at t = 0; request i (ids 0..N-1) arrives\n"
        "after i+1 gaps, so the first arrives at the first gap (constant: at 1/rate).\n"
        "arrival_us is the running sum of the gaps rounded to microseconds. Gaps are\n"
        "exponential (poisson), exactly 1/rate (constant) or gamma with shape 1/cv^2\n"
        "and mean 1/rate. Lengths are rounded to the nearest integer.\n"
        "\n"
        "Examples:\n"
        "  gen-workload --rate 20 -n 5 --seed 7\n"
        "  gen-workload --rate 5 -n 1000 --arrival gamma --cv 3 --prefix-tokens 200 | tail -n 3\n"
        "  gen-workload --preset multiturn-chat -n 20 --seed 3\n"
        "  gen-workload -n 5 | gen-workload --from csv --time-col arrival_us --time-unit us "
        "--input-col input_tokens --output-col output_tokens --rate-scale 2 -\n"
        "\n"
        "Exit status: 0 ok, 1 bad trace data, 2 bad flag or configuration, 3 write or\n"
        "internal error.\n",
        rate, w->num_requests, arrival_process_name(w->arrival), cv, pm, ps, w->prompt.min,
        w->prompt.max, om, os, w->output.min, w->output.max, w->prefix_tokens, w->slo_class,
        w->tenant, w->seed);
}

static const char *
option_name(int id)
{
    for (const struct option *o = options; o->name; o++)
        if (o->val == id) return o->name;
    return "?";
}

static double
flag_double(int id, const char *arg, double min, double max, bool positive)
{
    double v = 0;
    const char *why = parse_double(arg, min, max, &v);
    if (!why && positive && v <= 0) why = "must be > 0";
    if (why) die("--%s: %s: '%s'", option_name(id), why, arg);
    return v;
}

static int64_t
flag_i64(int id, const char *arg, int64_t min, int64_t max)
{
    int64_t v = 0;
    const char *why = parse_i64(arg, min, max, &v);
    if (why)
        die("--%s: %s: '%s' (need an integer in [%" PRId64 ", %" PRId64 "])", option_name(id), why,
            arg, min, max);
    return v;
}

static void
flag_text(int id, const char *arg, char *out, size_t size)
{
    if (strlen(arg) >= size)
        die("--%s: too long (at most %zu bytes): '%s'", option_name(id), size - 1, arg);
    strcpy(out, arg);
}

/* Writes one flag's value over the configuration; dies on a bad value. */
static void
apply_flag(struct workload_config *w, int id, const char *arg)
{
    switch (id) {
    case OPT_RATE:
        w->rate_per_s = flag_double(id, arg, 0, 1e9, true);
        break;
    case OPT_NUM_REQUESTS:
        w->num_requests = flag_i64(id, arg, 0, MAX_COUNT);
        break;
    case OPT_CV:
        w->cv = flag_double(id, arg, 0, 1e3, true);
        break;
    case OPT_SEED:
        w->seed = (uint64_t)flag_i64(id, arg, 0, INT64_MAX);
        break;
    case OPT_PROMPT_TOKENS:
        w->prompt.mean = flag_double(id, arg, 0, MAX_COUNT, false);
        break;
    case OPT_PROMPT_STDEV:
        w->prompt.stdev = flag_double(id, arg, 0, MAX_COUNT, false);
        break;
    case OPT_PROMPT_MIN:
        w->prompt.min = flag_i64(id, arg, 1, MAX_COUNT);
        break;
    case OPT_PROMPT_MAX:
        w->prompt.max = flag_i64(id, arg, 1, MAX_COUNT);
        break;
    case OPT_OUTPUT_TOKENS:
        w->output.mean = flag_double(id, arg, 0, MAX_COUNT, false);
        break;
    case OPT_OUTPUT_STDEV:
        w->output.stdev = flag_double(id, arg, 0, MAX_COUNT, false);
        break;
    case OPT_OUTPUT_MIN:
        w->output.min = flag_i64(id, arg, 1, MAX_COUNT);
        break;
    case OPT_OUTPUT_MAX:
        w->output.max = flag_i64(id, arg, 1, MAX_COUNT);
        break;
    case OPT_PREFIX_TOKENS:
        w->prefix_tokens = flag_i64(id, arg, 0, MAX_COUNT);
        break;
    case OPT_SLO_CLASS:
        flag_text(id, arg, w->slo_class, sizeof w->slo_class);
        break;
    case OPT_TENANT:
        flag_text(id, arg, w->tenant, sizeof w->tenant);
        break;
    case OPT_ARRIVAL:
        if (arrival_process_parse(arg, &w->arrival) != 0)
            die("--arrival: unknown process '%s' (known: poisson, constant, gamma)", arg);
        break;
    }
}

/* Where the requests come from: the distribution flags, a spec or a preset. */
enum mode { MODE_FLAGS, MODE_SPEC, MODE_PRESET };

static void
list_presets(void)
{
    for (size_t i = 0; i < preset_count(); i++) {
        const struct preset *p = preset_at(i);
        printf("%-16s %s\n", p->name, p->description);
    }
}

/* Writes the stream of a spec; -n and --seed (when given) override it. */
static int
run_spec(enum mode mode, const char *source, const char *count, const char *seed)
{
    struct workload_spec spec;
    int rc = mode == MODE_SPEC ? spec_load_file(source, &spec) : preset_load(source, &spec);
    if (rc) return rc;
    if (count) spec.num_requests = flag_i64(OPT_NUM_REQUESTS, count, 0, MAX_COUNT);
    if (seed) spec.seed = (uint64_t)flag_i64(OPT_SEED, seed, 0, INT64_MAX);
    struct spec_stream *stream;
    if ((rc = spec_stream_new(&spec, &stream))) {
        spec_free(&spec);
        return rc;
    }
    bool closed_loop = spec_stream_closed_loop(stream);
    if (closed_loop) request_csv_write_header_closed_loop(stdout);
    else request_csv_write_header(stdout);
    struct request request;
    while (!ferror(stdout) && (rc = spec_stream_next(stream, &request)) > 0) {
        if (closed_loop) request_csv_write_closed_loop(stdout, &request);
        else request_csv_write(stdout, &request);
        request_clear(&request);
    }
    spec_stream_free(stream);
    spec_free(&spec);
    return rc < 0 ? rc : 0;
}

#define MAX_ARGS 1024

int
main(int argc, char **argv)
{
    set_program_name(argv[0]);
    /* flags are kept in order and applied after every --config file; static,
     * so that die() on a bad flag leaves nothing allocated behind */
    static struct pending {
        int id;
        const char *arg;
    } flags[MAX_ARGS];
    static const char *files[MAX_ARGS];
    if (argc > MAX_ARGS) die("too many arguments (at most %d)", MAX_ARGS - 1);
    size_t num_flags = 0, num_files = 0;
    bool help = false, version = false, cv_given = false, list = false, from = false;
    enum mode mode = MODE_FLAGS;
    const char *source = NULL, *count = NULL, *seed = NULL, *other = NULL, *trace_flag = NULL;
    struct trace_options trace;
    trace_options_init(&trace);
    opterr = 0;
    int c, option_index = 0;
    while ((c = getopt_long(argc, argv, ":n:", options, &option_index)) != -1) {
        if (c == OPT_TRACE) {
            int rc = trace_option_set(&trace, options[option_index].name, optarg);
            if (rc < 0) return exit_status_of(rc);
            from |= strcmp(options[option_index].name, "from") == 0;
            trace_flag = options[option_index].name;
        } else if (c == OPT_HELP)
            help = true;
        else if (c == OPT_VERSION)
            version = true;
        else if (c == OPT_CONFIG)
            files[num_files++] = optarg, other = "config";
        else if (c == OPT_LIST_PRESETS)
            list = true;
        else if (c == OPT_SPEC || c == OPT_PRESET) {
            if (mode != MODE_FLAGS) die("give one of --spec, --preset (see --help)");
            mode = c == OPT_SPEC ? MODE_SPEC : MODE_PRESET;
            source = optarg;
        }
        else if (c == ':')
            die("%s: missing value (see --help)", argv[optind - 1]);
        else if (c == '?') {
            if (optopt) die("unknown option '-%c' (see --help)", optopt);
            die("unknown option '%s' (see --help)", argv[optind - 1]);
        } else {
            cv_given |= c == OPT_CV;
            if (c == OPT_NUM_REQUESTS) count = optarg;
            else if (c == OPT_SEED) seed = optarg;
            else other = option_name(c);
            flags[num_flags++] = (struct pending){c, optarg};
        }
    }
    if (from && optind < argc) trace.path = argv[optind++];
    if (optind < argc) die("unexpected argument '%s' (see --help)", argv[optind]);
    if (version) {
        puts("gen-workload (servesim) " VERSION);
        return exit_status_of(close_stdout());
    }
    if (list && !help) {
        list_presets();
        return exit_status_of(close_stdout());
    }
    if (mode != MODE_FLAGS && trace_flag)
        die("--%s cannot be combined with --spec or --preset", trace_flag);
    if (mode != MODE_FLAGS && !help) {
        if (other) die("--%s cannot be combined with --spec or --preset (only -n and --seed)", other);
        int rc = run_spec(mode, source, count, seed);
        int closed = close_stdout();
        return exit_status_of(rc ? rc : closed);
    }

    struct config config;
    int rc = config_load(&config, files, num_files);
    if (rc) return exit_status_of(rc);
    struct workload_config workload = config.workload;
    config_free(&config);
    for (size_t i = 0; i < num_flags; i++)
        apply_flag(&workload, flags[i].id, flags[i].arg);
    if (help) {
        usage(&workload);
        return exit_status_of(close_stdout());
    }
    if (cv_given && workload.arrival != ARRIVAL_GAMMA)
        warn("--cv applies to --arrival gamma only; ignored for '%s'",
             arrival_process_name(workload.arrival));

    if (from) {
        trace.seed = workload.seed;
        struct trace_stream *stream;
        if ((rc = trace_stream_open(&trace, &stream))) return exit_status_of(rc);
        request_csv_write_header(stdout);
        struct request request;
        while (!ferror(stdout) && (rc = trace_stream_next(stream, &request)) > 0) {
            request_csv_write(stdout, &request);
            request_clear(&request);
        }
        trace_stream_free(stream);
        int closed = close_stdout();
        return exit_status_of(rc < 0 ? rc : closed);
    }

    struct generator *generator;
    if ((rc = generator_new(&workload, &generator))) return exit_status_of(rc);
    request_csv_write_header(stdout);
    struct request request;
    while (!ferror(stdout) && (rc = generator_next(generator, &request)) > 0) {
        request_csv_write(stdout, &request);
        request_clear(&request);
    }
    generator_free(generator);
    int closed = close_stdout();
    return exit_status_of(rc < 0 ? rc : closed);
}
