/* SPDX-License-Identifier: GPL-3.0-or-later */
/* calibrate: bring measured vLLM runs in, and measure how well simulations match them. */
#include "analysis/compare.h"
#include "jobs/calibrate_fit.h"
#include "jobs/calibrate_import.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: calibrate import FORMAT RUN --out DIR [--arrivals REQUESTS.csv] [--recorded-lengths]\n"
    "       calibrate fit [--model blackbox|physics] [--warmup-us T] [--iterations N]\n"
    "                     [--progress] DIR...\n"
    "       calibrate compare [--warmup-us T] [--measured-itl F --simulated-itl G]\n"
    "                         MEASURED.csv SIMULATED.csv\n"
    "\n"
    "import turns a measured vLLM run into DIR/requests.csv (the request stream),\n"
    "DIR/measured.csv (what was measured, as per-request results) and DIR/engine.yaml\n"
    "(the engine, for simulate --config), and DIR/measured-itl.csv when the source\n"
    "has token gaps (docs/calibration.md). FORMAT: vllm-h100 (RUN is EXP.json, with\n"
    "EXP_ground_truth.json beside it), llmservingsim (RUN is a run directory holding\n"
    "config.json and vllm/; the workload meta.json names, found beside the run or up\n"
    "to two directories above, gives the prompts' shared prefixes), benchmark-serving\n"
    "(RUN is vLLM's benchmark_serving result JSON saved with --save-detailed), csv\n"
    "(the generic per-request CSV).\n"
    "\n"
    "fit searches the latency coefficients that make simulate reproduce the TTFT, E2E\n"
    "and TPOT distributions of imported runs, and prints them as a YAML file for\n"
    "simulate --coefficients (docs/accuracy.md): blackbox (b0, b1, b2, a0) for runs of\n"
    "one engine, or physics (one set for runs of any models and GPUs).\n"
    "\n"
    "Compares two per-request result files (docs/formats.md) request by request and\n"
    "prints one JSON object: for ttft, tpot and e2e the measured and simulated mean,\n"
    "p50, p90 and p99 and their relative errors, the request-level MAPE, Pearson's r\n"
    "and the bias. Requests are matched by id; only requests ok in both runs are\n"
    "compared, and every other one is counted under the reason it was left out.\n"
    "With --measured-itl and --simulated-itl (ITL side files) it adds itl: the\n"
    "mean, p50, p90 and p99 of all token gaps and their relative errors.\n"
    "\n"
    "  --out DIR        import: the directory to write into (it must exist)\n"
    "  --arrivals F     import benchmark-serving: the request stream that was sent\n"
    "  --recorded-lengths\n"
    "                   import vllm-h100: keep the recorded output lengths even where\n"
    "                   the decode times show the server generated more\n"
    "  --warmup-us T    fit, compare: leave out requests that arrived before T\n"
    "  --measured-itl F, --simulated-itl G\n"
    "                   compare: the two runs' ITL side files\n"
    "  --model M        fit: blackbox (default) or physics\n"
    "  --iterations N   fit: simplex iterations per pass, four passes (default 300);\n"
    "                   physics then as many least-squares iterations\n"
    "  --progress       fit: a line per iteration on standard error\n"
    "  -h, --help       this help\n"
    "  --version        print the version\n"
    "\n"
    "Example:\n"
    "  gen-workload -n 500 > r.csv; simulate r.csv > a.csv;\n"
    "  simulate --max-num-seqs 32 r.csv > b.csv; calibrate compare a.csv b.csv\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage error, 3 internal error.\n";

enum {
    OPT_WARMUP = 256,
    OPT_OUT,
    OPT_ITERATIONS,
    OPT_PROGRESS,
    OPT_VERSION,
    OPT_ARRIVALS,
    OPT_RECORDED_LENGTHS,
    OPT_MEASURED_ITL,
    OPT_SIMULATED_ITL,
    OPT_MODEL
};

static const struct option options[] = {
    {"warmup-us", required_argument, NULL, OPT_WARMUP},
    {"out", required_argument, NULL, OPT_OUT},
    {"iterations", required_argument, NULL, OPT_ITERATIONS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"model", required_argument, NULL, OPT_MODEL},
    {"arrivals", required_argument, NULL, OPT_ARRIVALS},
    {"recorded-lengths", no_argument, NULL, OPT_RECORDED_LENGTHS},
    {"measured-itl", required_argument, NULL, OPT_MEASURED_ITL},
    {"simulated-itl", required_argument, NULL, OPT_SIMULATED_ITL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

struct arguments {
    struct compare_options compare;
    const char *out_dir;
    const char *arrivals;
    bool recorded_lengths;
    const char *measured_itl, *simulated_itl;
    int64_t iterations;
    bool progress;
    enum latency_kind model;
    int first_operand, num_operands;
};

/* Parses the options of any subcommand (argv[0] is the subcommand). */
static void
parse(int argc, char **argv, struct arguments *a)
{
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        const char *why;
        switch (c) {
        case OPT_WARMUP:
            if ((why = parse_i64(optarg, 0, (int64_t)1 << 60, &a->compare.warmup_us)))
                die("--warmup-us: %s: '%s'", why, optarg);
            break;
        case OPT_OUT: a->out_dir = optarg; break;
        case OPT_ITERATIONS:
            if ((why = parse_i64(optarg, 1, 100000, &a->iterations)))
                die("--iterations: %s: '%s'", why, optarg);
            break;
        case OPT_PROGRESS: a->progress = true; break;
        case OPT_MODEL:
            if (latency_kind_parse(optarg, &a->model) || a->model == LATENCY_ROOFLINE)
                die("--model: '%s' is not fittable (known: blackbox, physics)", optarg);
            break;
        case OPT_ARRIVALS: a->arrivals = optarg; break;
        case OPT_RECORDED_LENGTHS: a->recorded_lengths = true; break;
        case OPT_MEASURED_ITL: a->measured_itl = optarg; break;
        case OPT_SIMULATED_ITL: a->simulated_itl = optarg; break;
        case 'h': fputs(usage, stdout); exit(exit_status_of(close_stdout()));
        case OPT_VERSION: puts("calibrate (servesim) 0.1.0"); exit(exit_status_of(close_stdout()));
        case ':': die("option '%s' needs a value; try --help", argv[optind - 1]);
        default: die("unknown option '%s'; try --help", argv[optind - 1]);
        }
    }
    a->first_operand = optind;
    a->num_operands = argc - optind;
}

static int
import(int argc, char **argv)
{
    struct arguments a = {0};
    parse(argc, argv, &a);
    if (a.num_operands != 2) die("import needs FORMAT and RUN; try --help");
    if (!a.out_dir) die("import needs --out DIR");
    struct import_job job = {argv[a.first_operand], argv[a.first_operand + 1], a.out_dir,
                             a.arrivals, a.recorded_lengths};
    return exit_status_of(calibrate_import(&job));
}

static int
fit(int argc, char **argv)
{
    struct arguments a = {.iterations = 300};
    parse(argc, argv, &a);
    if (a.num_operands < 1) die("fit needs at least one imported run directory; try --help");
    struct fit_job job = {
        .kind = a.model,
        .runs = (const char *const *)(argv + a.first_operand),
        .num_runs = (size_t)a.num_operands,
        .warmup_us = a.compare.warmup_us,
        .max_iterations = (int)a.iterations,
        .out = stdout,
        .progress = a.progress,
    };
    int rc = calibrate_fit(&job);
    int closed = close_stdout();
    return exit_status_of(rc ? rc : closed);
}

static int
compare_itl_files(const char *measured, const char *simulated, struct comparison *result)
{
    FILE *f = input_open(measured), *g = f ? input_open(simulated) : NULL;
    if (!g) {
        input_close(f);
        return ERR_CONFIG;
    }
    int rc = compare_itl(f, measured, g, simulated, &result->itl);
    result->has_itl = rc == 0;
    input_close(f);
    input_close(g);
    return rc;
}

static int
compare(int argc, char **argv)
{
    struct arguments a = {0};
    parse(argc, argv, &a);
    if (a.num_operands != 2) die("compare needs MEASURED.csv and SIMULATED.csv; try --help");
    const char *measured = argv[a.first_operand], *simulated = argv[a.first_operand + 1];
    if (!strcmp(measured, "-") && !strcmp(simulated, "-"))
        die("at most one of the two runs can be standard input");
    if (!a.measured_itl != !a.simulated_itl)
        die("--measured-itl and --simulated-itl go together; try --help");
    if (a.measured_itl && (!strcmp(a.measured_itl, "-") || !strcmp(a.simulated_itl, "-")))
        die("the ITL side files must be named files, not standard input");
    FILE *f = input_open(measured), *g = f ? input_open(simulated) : NULL;
    if (!g) {
        input_close(f);
        return EXIT_USAGE;
    }
    struct comparison result;
    int rc = compare_runs(f, strcmp(measured, "-") ? measured : "<stdin>", g,
                          strcmp(simulated, "-") ? simulated : "<stdin>", &a.compare, &result);
    input_close(f);
    input_close(g);
    if (!rc && a.measured_itl) rc = compare_itl_files(a.measured_itl, a.simulated_itl, &result);
    if (!rc) rc = comparison_write_json(&result, stdout);
    int closed = close_stdout();
    return exit_status_of(rc ? rc : closed);
}

int
main(int argc, char **argv)
{
    set_program_name(argv[0]);
    if (argc < 2) die("a subcommand is needed (import, fit, compare); try --help");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage, stdout);
        return exit_status_of(close_stdout());
    }
    if (!strcmp(argv[1], "--version")) {
        puts("calibrate (servesim) 0.1.0");
        return exit_status_of(close_stdout());
    }
    if (!strcmp(argv[1], "compare")) return compare(argc - 1, argv + 1);
    if (!strcmp(argv[1], "import")) return import(argc - 1, argv + 1);
    if (!strcmp(argv[1], "fit")) return fit(argc - 1, argv + 1);
    die("unknown subcommand '%s' (known: import, fit, compare); try --help", argv[1]);
}
