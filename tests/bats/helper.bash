# SPDX-License-Identifier: GPL-3.0-or-later
# Loaded by every bats file: assertions, the tools on PATH, a scratch dir.
bats_require_minimum_version 1.5.0
load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
PATH="$TOP/bin:$PATH"
SHARED="$TOP/../shared"
export TOP PATH SHARED

# Runs a tool; under VALGRIND=1 every tool runs inside memcheck.
tool() {
    if [ "${VALGRIND:-0}" = 1 ]; then
        valgrind -q --error-exitcode=99 --leak-check=full "$TOP/bin/$@"
    else
        "$TOP/bin/$@"
    fi
}

# Skips the test when ../shared/data is not beside the checkout.
require_shared_data() {
    [ -d "$SHARED/data" ] || skip "../shared/data is absent"
}

# Skips a test of peak memory where it means nothing: under valgrind, and in
# a sanitizer build (AddressSanitizer holds freed memory in quarantine).
require_plain_build() {
    [ "${VALGRIND:-0}" = 1 ] && skip "peak memory is not meaningful under valgrind"
    grep -qs san "$TOP/bin/.flavour" && skip "peak memory is not meaningful under sanitizers"
    [ -x /usr/bin/time ] || skip "/usr/bin/time is absent (make deps)"
}
