# SPDX-License-Identifier: GPL-3.0-or-later
# Loaded by every bats file: assertions, the tools on PATH, a scratch dir.
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
