/* SPDX-License-Identifier: GPL-3.0-or-later */
/* summarize: per-request results (CSV) in, one summary JSON object out. */
#include "analysis/results_csv.h"
#include "analysis/summary.h"
#include "cluster/cluster.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: summarize [OPTIONS] [RESULTS.csv|-]\n"
    "\n"
    "Reads simulate's per-request results (stdin by default) and prints one JSON\n"
    "object: counts by status, duration, throughput, latency percentiles (type 7,\n"
    "exact), cache, preemptions, SLO attainment and goodput, per slo_class, tenant\n"
    "and instance. docs/formats.md describes every key.\n"
    "\n"
    "  --itl FILE         the ITL side file written by simulate --itl (else itl_ms is null)\n"
    "  --slo-ttft-ms X    SLO on time to first token, ms (> 0)\n"
    "  --slo-tpot-ms X    SLO on time per output token, ms (> 0)\n"
    "  --slo-e2e-ms X     SLO on end-to-end latency, ms (> 0)\n"
    "  --warmup-us T      ignore requests arriving before T microseconds\n"
    "  --decisions FILE   the decision trace written by simulate --decisions\n"
    "  --steps FILE       the step trace written by simulate --steps (head-of-line blocking)\n"
    "  --fitness-weights LIST  one normalized score, e.g. throughput:0.5,p99_ttft:0.3,\n"
    "                     mean_e2e:0.2 (metrics: throughput, goodput, mean_ttft, p99_ttft,\n"
    "                     mean_tpot, p99_tpot, mean_e2e, p99_e2e)\n"
    "  --pools LIST       NAME:INSTANCES,... in simulate's pool order: adds by_pool sections\n"
    "  --priorities LIST  slo_class priorities for the inversion count, e.g. gold:0,silver:1\n"
    "  --help             print this help\n"
    "  --version          print the version\n"
    "\n"
    "Example:\n"
    "  summarize --slo-ttft-ms 500 results.csv | jq .slo.attainment\n"
    "\n"
    "Environment: TMPDIR, where the percentile sorts of large inputs spill (default /tmp).\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage error, 3 internal or write error.\n";

enum option_id {
    OPT_ITL = 256, OPT_TTFT, OPT_TPOT, OPT_E2E, OPT_WARMUP, OPT_VERSION, OPT_DECISIONS,
    OPT_FITNESS, OPT_POOLS, OPT_PRIORITIES, OPT_STEPS,
};

static const struct option options[] = {
    {"itl", required_argument, NULL, OPT_ITL},
    {"slo-ttft-ms", required_argument, NULL, OPT_TTFT},
    {"slo-tpot-ms", required_argument, NULL, OPT_TPOT},
    {"slo-e2e-ms", required_argument, NULL, OPT_E2E},
    {"warmup-us", required_argument, NULL, OPT_WARMUP},
    {"decisions", required_argument, NULL, OPT_DECISIONS},
    {"steps", required_argument, NULL, OPT_STEPS},
    {"fitness-weights", required_argument, NULL, OPT_FITNESS},
    {"pools", required_argument, NULL, OPT_POOLS},
    {"priorities", required_argument, NULL, OPT_PRIORITIES},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static double
slo_ms(const char *flag, const char *text)
{
    double value;
    const char *why = parse_double(text, 0, 1e12, &value);
    if (!why && value <= 0) why = "must be > 0";
    if (why) die("--%s: %s: '%s'", flag, why, text);
    return value;
}

int
main(int argc, char **argv)
{
    set_program_name(argv[0]);
    signal(SIGPIPE, SIG_DFL); /* `summarize | head` ends quietly */
    struct summary_options opts = {0};
    struct pool_map pools;
    struct cluster_policy priorities;
    cluster_policy_defaults(&priorities);
    const char *itl_path = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_ITL:
            itl_path = optarg;
            break;
        case OPT_TTFT:
            opts.slo_ttft_ms = slo_ms("slo-ttft-ms", optarg);
            break;
        case OPT_TPOT:
            opts.slo_tpot_ms = slo_ms("slo-tpot-ms", optarg);
            break;
        case OPT_E2E:
            opts.slo_e2e_ms = slo_ms("slo-e2e-ms", optarg);
            break;
        case OPT_WARMUP: {
            const char *why = parse_i64(optarg, 0, RESULTS_MAX_TIME_US, &opts.warmup_us);
            if (why) die("--warmup-us: %s: '%s'", why, optarg);
            break;
        }
        case OPT_DECISIONS:
            opts.decisions_path = optarg;
            break;
        case OPT_STEPS:
            opts.steps_path = optarg;
            break;
        case OPT_FITNESS:
            if (fitness_parse("--fitness-weights", optarg, opts.fitness_weights))
                return EXIT_USAGE;
            opts.has_fitness = true;
            break;
        case OPT_POOLS:
            if (pool_map_parse("--pools", optarg, &pools)) return EXIT_USAGE;
            opts.pools = &pools;
            break;
        case OPT_PRIORITIES:
            if (cluster_parse_priorities("--priorities", optarg, &priorities)) return EXIT_USAGE;
            opts.priorities = &priorities;
            break;
        case 'h':
            fputs(usage, stdout);
            return exit_status_of(close_stdout());
        case OPT_VERSION:
            puts("summarize (servesim) 0.1.0");
            return exit_status_of(close_stdout());
        case ':':
            die("option '%s' needs a value; try --help", argv[optind - 1]);
        default:
            die("unknown option '%s'; try --help", argv[optind - 1]);
        }
    }
    if (argc - optind > 1) die("too many arguments (one RESULTS file at most); try --help");
    const char *path = optind < argc ? argv[optind] : "-";
    if (itl_path && strcmp(itl_path, "-") == 0 && strcmp(path, "-") == 0)
        die("--itl - needs the results in a named file (both cannot be stdin)");
    FILE *in = input_open(path);
    if (!in) return EXIT_USAGE;
    int rc = summarize(in, strcmp(path, "-") ? path : "<stdin>", itl_path, &opts, stdout);
    input_close(in);
    int closed = close_stdout();
    return exit_status_of(rc ? rc : closed);
}
