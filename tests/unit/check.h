/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * check: the C unit tests' harness. Each test is a function; RUN() runs it
 * and prints one TAP line ("ok N - name" or "not ok N - name" followed by
 * "# file:line: failed check" diagnostics). tests/run.sh counts the lines.
 *
 *     TEST(kv_decode_asks_one_token) { ... CHECK(x == 1); CHECK_EQ(a, b); }
 *     int main(void) { RUN(kv_decode_asks_one_token); return check_done(); }
 */
#ifndef SERVESIM_TESTS_CHECK_H
#define SERVESIM_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static int check_number, check_failed_tests, check_current_failures;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            check_current_failures++;                                                              \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                      \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        int64_t check_a_ = (int64_t)(a), check_b_ = (int64_t)(b);                                  \
        if (check_a_ != check_b_) {                                                                \
            check_current_failures++;                                                              \
            printf("# %s:%d: check failed: %s == %s (%" PRId64 " != %" PRId64 ")\n", __FILE__,     \
                   __LINE__, #a, #b, check_a_, check_b_);                                          \
        }                                                                                          \
    } while (0)

#define CHECK_NEAR(a, b, tolerance)                                                                \
    do {                                                                                           \
        double check_a_ = (a), check_b_ = (b);                                                     \
        if (!(check_a_ - check_b_ <= (tolerance) && check_b_ - check_a_ <= (tolerance))) {         \
            check_current_failures++;                                                              \
            printf("# %s:%d: check failed: %s ~ %s (%.17g vs %.17g)\n", __FILE__, __LINE__, #a,    \
                   #b, check_a_, check_b_);                                                        \
        }                                                                                          \
    } while (0)

#define RUN(name) check_run(#name, name)

static inline void
check_run(const char *name, void (*test)(void))
{
    check_current_failures = 0;
    test();
    check_number++;
    if (check_current_failures) check_failed_tests++;
    printf("%sok %d - %s\n", check_current_failures ? "not " : "", check_number, name);
    fflush(stdout);
}

static inline int
check_done(void)
{
    printf("1..%d\n", check_number);
    return check_failed_tests ? 1 : 0;
}

#endif
