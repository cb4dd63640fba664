/* SPDX-License-Identifier: GPL-3.0-or-later */
/* calibrate: measure how well a simulated run matches a measured one. */
#include "analysis/compare.h"
#include "core/error.h"
#include "core/outfile.h"
#include "core/parse.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: calibrate compare [--warmup-us T] MEASURED.csv SIMULATED.csv\n"
    "Compares two per-request result files (docs/formats.md) request by request and\n"
    "prints one JSON object: for ttft, tpot and e2e the measured and simulated mean,\n"
    "p50, p90 and p99 and their relative errors, the request-level MAPE, Pearson's r\n"
    "and the bias. Requests are matched by id; only requests ok in both runs are\n"
    "compared, and every other one is counted under the reason it was left out.\n"
    "\n"
    "  --warmup-us T    leave out requests that arrived before T (measured arrival)\n"
    "  -h, --help       this help\n"
    "  --version        print the version\n"
    "\n"
    "Example:\n"
    "  gen-workload -n 500 > r.csv; simulate r.csv > a.csv;\n"
    "  simulate --max-num-seqs 32 r.csv > b.csv; calibrate compare a.csv b.csv\n"
    "\n"
    "Exit status: 0 ok, 1 bad input data, 2 usage error, 3 internal error.\n";

enum { OPT_WARMUP = 256, OPT_VERSION };

static const struct option options[] = {
    {"warmup-us", required_argument, NULL, OPT_WARMUP},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static FILE *
open_input(const char *path)
{
    if (strcmp(path, "-") == 0) return stdin;
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open '%s': %s", path, strerror(errno));
    return f;
}

static int
compare(int argc, char **argv)
{
    struct compare_options opts = {0};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        const char *why;
        switch (c) {
        case OPT_WARMUP:
            if ((why = parse_i64(optarg, 0, (int64_t)1 << 60, &opts.warmup_us)))
                die("--warmup-us: %s: '%s'", why, optarg);
            break;
        case 'h': fputs(usage, stdout); return exit_status_of(close_stdout());
        case OPT_VERSION: puts("calibrate (servesim) 0.1.0"); return exit_status_of(close_stdout());
        case ':': die("option '%s' needs a value; try --help", argv[optind - 1]);
        default: die("unknown option '%s'; try --help", argv[optind - 1]);
        }
    }
    if (argc - optind != 2) die("compare needs MEASURED.csv and SIMULATED.csv; try --help");
    const char *measured = argv[optind], *simulated = argv[optind + 1];
    if (!strcmp(measured, "-") && !strcmp(simulated, "-"))
        die("at most one of the two runs can be standard input");
    FILE *a = open_input(measured), *b = open_input(simulated);
    struct comparison result;
    int rc = compare_runs(a, strcmp(measured, "-") ? measured : "<stdin>", b,
                          strcmp(simulated, "-") ? simulated : "<stdin>", &opts, &result);
    if (a != stdin) fclose(a);
    if (b != stdin) fclose(b);
    if (!rc) rc = comparison_write_json(&result, stdout);
    int closed = close_stdout();
    return exit_status_of(rc ? rc : closed);
}

int
main(int argc, char **argv)
{
    set_program_name(argv[0]);
    if (argc < 2) die("a subcommand is needed (compare); try --help");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage, stdout);
        return exit_status_of(close_stdout());
    }
    if (!strcmp(argv[1], "--version")) {
        puts("calibrate (servesim) 0.1.0");
        return exit_status_of(close_stdout());
    }
    if (!strcmp(argv[1], "compare")) return compare(argc - 1, argv + 1);
    die("unknown subcommand '%s' (known: compare); try --help", argv[1]);
}
