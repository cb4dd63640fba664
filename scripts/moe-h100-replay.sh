#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# moe-h100-replay.sh [SIMULATE OPTION...]: a public benchmark of Qwen3-30B-A3B
# on one H100 with neither data nor expert parallelism, replayed through the
# roofline; prints simulate's results CSV. The benchmark: vLLM pull request
# 23151 (August 2025, "WO tuned configs"), benchmark_serving with 100 requests
# of 2048 random prompt tokens and 1024 output tokens, 10 at a time
# (--max-concurrency 10). Replayed as 10 closed-loop clients of 10 rounds each,
# a round sent when the client's previous one completes, with the prompt and
# output lengths the run's totals give (204169 and 101576 tokens over 100
# requests) and vLLM's API-server defaults on an 80 GB GPU
# (max_num_batched_tokens 8192, max_num_seqs 1024). The benchmark measured a
# mean TTFT of 267.22 ms, median 300.05, p99 454.62; mean TPOT 13.18 ms;
# 137.30 s in all. Options (--config, --steps, ...) go to simulate.
set -eu
cd "$(dirname "$0")/.."
{
    echo "id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round,after_us"
    awk 'BEGIN { for (c = 0; c < 10; c++) for (r = 0; r < 10; r++)
        printf "%d,0,2042,1016,,,,c%d,%d,%s\n", 10 * c + r, c, r, r ? "0" : "" }'
} | bin/simulate --model qwen/qwen3-30b-a3b --gpu H100 --tp 1 --latency-model roofline \
    --max-num-batched-tokens 8192 --max-num-seqs 1024 "$@"
