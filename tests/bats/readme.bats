# SPDX-License-Identifier: GPL-3.0-or-later
# Every command shown in the README runs: the set-up commands, and each line
# of the tour written as "$ command", each of which must succeed and print
# something. `make check` itself is checked by being the command running this.
load helper

setup_file() {
    export README_COMMANDS="$BATS_FILE_TMPDIR/commands"
    sed -n 's/^\$ //p' "$TOP/README.md" > "$README_COMMANDS"
}

@test "readme: opens with the two set-up commands" {
    run sed -n '1,12p' "$TOP/README.md"
    assert_output --partial 'make demo'
    assert_output --partial 'make check'
}

@test "readme: the tour has commands to run" {
    run wc -l < "$README_COMMANDS"
    [ "$output" -ge 6 ]
}

@test "readme: every tour command succeeds, and prints something unless redirected" {
    cd "$BATS_TEST_TMPDIR"
    ln -s "$TOP/bin" bin
    while IFS= read -r command; do
        # make targets run from the source tree (their OUT is under results/, ignored by git)
        if [[ "$command" == make* ]]; then
            run bash -o pipefail -c "cd '$TOP' && $command"
        else
            run bash -o pipefail -c "$command"
        fi
        if [ "$status" -ne 0 ] || { [ -z "$output" ] && [[ "$command" != *" > "* ]]; }; then
            echo "failed ($status): $command"
            echo "$output"
            return 1
        fi
    done < "$README_COMMANDS"
}

@test "readme: make demo prints a summary" {
    cd "$TOP"
    run bash -o pipefail -c 'make --no-print-directory demo 2>/dev/null | tail -1 | jq -e .requests.total'
    assert_success
    assert_output 1000
}
