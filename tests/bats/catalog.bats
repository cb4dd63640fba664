# SPDX-License-Identifier: GPL-3.0-or-later
# The model catalog against the Hugging Face configs in
# ../shared/data/model_configs (skipped when absent): every id its IDS.md
# lists resolves, case and all, and the KV bytes per token the roofline
# reports follow from the config.json itself (jq), never from the catalog.
load helper
bats_require_minimum_version 1.5.0

CONFIGS="$SHARED/data/model_configs"

# ids: "folder id" per line, from IDS.md's table (header and rule skipped).
ids() {
    awk -F'|' 'NF >= 4 && $2 !~ /folder|---/ { gsub(/ /, "", $2); gsub(/ /, "", $3); print $2, $3 }' \
        "$CONFIGS/IDS.md"
}

# expected_kv_bytes CONFIG: KV bytes of one token at tp 1, bf16. Latent
# attention: the latent and the rope key per layer, plus the indexer's fp8
# keys with a 4-byte scale per 128; otherwise K and V of every KV head.
expected_kv_bytes() {
    jq '(.text_config // .) as $c
        | ($c.head_dim // ($c.hidden_size / $c.num_attention_heads)) as $head
        | if $c.kv_lora_rank then
              $c.num_hidden_layers * (($c.kv_lora_rank + $c.qk_rope_head_dim) * 2
                + (if $c.index_head_dim then $c.index_head_dim + 4 * (($c.index_head_dim + 127) / 128 | floor) else 0 end))
          else 2 * $c.num_hidden_layers * $c.num_key_value_heads * $head * 2 end' "$1"
}

@test "every model of ../shared/data/model_configs resolves in the catalog" {
    require_shared_data
    [ -f "$CONFIGS/IDS.md" ] || skip "model_configs/IDS.md absent"
    count=0
    while read -r folder id; do
        count=$((count + 1))
        # the id as Hugging Face spells it (mixed case) must match
        run tool simulate --model "$id" --latency-model roofline --num-gpu-blocks 1000 --print-config
        [ "$status" -eq 0 ] || { echo "$id: $output"; return 1; }
        kv=$(echo "$output" | awk '$1 == "kv_bytes_per_token:" { print $2 }')
        want=$(expected_kv_bytes "$CONFIGS/$folder/config.json")
        awk -v a="$kv" -v b="$want" 'BEGIN { exit !(a == b) }' ||
            { echo "$id: kv_bytes_per_token $kv, config.json says $want"; return 1; }
    done < <(ids)
    [ "$count" -ge 14 ]
}

@test "DeepSeek-V2-Lite runs under the roofline on H100 with its memory-derived KV pool" {
    run tool simulate --model deepseek-ai/DeepSeek-V2-Lite --gpu H100 --latency-model roofline --print-config
    assert_success
    # 27 layers x (512 + 64) x 2 bytes, the same on every rank
    assert_line "  kv_bytes_per_token: 31104"
    assert_line "num_gpu_blocks: 89635   # derived from GPU memory"
    # absorbed decode: 2 x 16 heads x (2 x 512 + 64) x 27 layers = 940032 FLOPs per pair;
    # a model with ordinary attention shows no such line
    assert_line "  flops_per_decode_pair: 940032"
    run tool simulate --latency-model roofline --print-config
    refute_line --partial "flops_per_decode_pair"
    tool gen-workload --num-requests 20 --seed 5 > requests.csv
    run tool simulate --model deepseek-ai/DeepSeek-V2-Lite --gpu H100 --tp 2 --latency-model roofline requests.csv
    assert_success
    [ "$(echo "$output" | grep -c ',ok,')" -eq 20 ]
}

@test "Qwen3-30B-A3B's mfu_experts is where the replayed H100 benchmark has its mean TTFT" {
    # the benchmark measured 267.22 ms (vLLM pull request 23151;
    # scripts/moe-h100-replay.sh); the catalog's value, rounded to three digits,
    # lands within 1 % of it, and 10 % either side of the value moves it out of 5 %
    cd "$BATS_TEST_TMPDIR"
    mean() { "$TOP/scripts/moe-h100-replay.sh" "$@" | tool summarize | jq '.ttft_ms.mean'; }
    run tool simulate --model qwen/qwen3-30b-a3b --gpu H100 --latency-model roofline --print-config
    assert_success
    value=$(echo "$output" | awk '$1 == "mfu_experts:" { print $2 }')
    [ -n "$value" ]
    near() { awk -v t="$1" -v w="$2" 'BEGIN { exit !(t / 267.22 - 1 < w && 1 - t / 267.22 < w) }'; }
    at=$(mean)
    near "$at" 0.01 || { echo "mean TTFT $at ms at mfu_experts $value"; return 1; }
    for f in 0.9 1.1; do
        printf 'gpus:\n  H100: {mfu_experts: %s}\n' "$(awk -v v="$value" -v f="$f" 'BEGIN { print v * f }')" > off.yaml
        off=$(mean --config off.yaml)
        ! near "$off" 0.05 || { echo "mean TTFT $off ms at $f times the value"; return 1; }
    done
}
