/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_sessions: the closed-loop table by hand: a session's rounds are held
 * until the round before settles and released at settle + after_us (never
 * before arrival_us); a chain moves to the released round's id; a round whose
 * predecessor settled before it was read goes at once; a round that does not
 * follow its predecessor, or two chains on one id, are refused.
 */
#include "check.h"

#include "cluster/sessions.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static struct request
round_of(int64_t id, const char *session, int64_t round, int64_t after_us)
{
    struct request q = {.id = id,
                        .arrival_us = 100,
                        .round = round,
                        .closed_loop = round > 0,
                        .after_us = after_us};
    q.session = strdup(session);
    q.prefix = strdup("");
    q.slo_class = strdup("");
    q.tenant = strdup("");
    return q;
}

TEST(rounds_wait_for_the_round_before)
{
    struct sessions s;
    sessions_init(&s);
    struct request r0 = round_of(10, "a", 0, 0), r1 = round_of(11, "a", 1, 500),
                   r2 = round_of(12, "a", 2, 0), out;
    sessions_saw(&s, &r0);
    CHECK_EQ(sessions_hold(&s, &r1, &out), 0);
    CHECK_EQ(sessions_hold(&s, &r2, &out), 0);
    CHECK_EQ(s.held, 2);
    CHECK_EQ(sessions_settled(&s, 99, 1000, &out), 0); /* not a predecessor */
    CHECK_EQ(sessions_settled(&s, 10, 1000, &out), 1);
    CHECK_EQ(out.id, 11);
    CHECK_EQ(out.arrival_us, 1500);
    request_clear(&out);
    /* round 2 now waits on round 1's id; after_us 0 releases it at the finish */
    CHECK_EQ(sessions_settled(&s, 10, 2000, &out), 0);
    CHECK_EQ(sessions_settled(&s, 11, 2000, &out), 1);
    CHECK_EQ(out.id, 12);
    CHECK_EQ(out.arrival_us, 2000);
    request_clear(&out);
    CHECK_EQ(s.held, 0);
    CHECK_EQ(s.count, 0);
    request_clear(&r0);
    sessions_free(&s);
}

TEST(a_round_after_a_settled_one_goes_at_once_never_before_arrival)
{
    struct sessions s;
    sessions_init(&s);
    struct request r0 = round_of(1, "b", 0, 0), r1 = round_of(2, "b", 1, 30), out;
    r1.arrival_us = 5000; /* the lower bound wins over 40 + 30 */
    sessions_saw(&s, &r0);
    CHECK_EQ(sessions_settled(&s, 1, 40, &out), 0); /* rejected before round 1 was read */
    CHECK_EQ(sessions_hold(&s, &r1, &out), 1);
    CHECK_EQ(out.id, 2);
    CHECK_EQ(out.arrival_us, 5000);
    CHECK_EQ(s.held, 0);
    request_clear(&out);
    request_clear(&r0);
    sessions_free(&s);
}

TEST(many_sessions_grow_the_table_and_release_each)
{
    struct sessions s;
    sessions_init(&s);
    struct request out;
    for (int64_t k = 0; k < 1000; k++) {
        char name[16];
        snprintf(name, sizeof name, "s%d", (int)k);
        struct request r0 = round_of(2 * k, name, 0, 0), r1 = round_of(2 * k + 1, name, 1, k);
        r1.arrival_us = 0;
        sessions_saw(&s, &r0);
        CHECK_EQ(sessions_hold(&s, &r1, &out), 0);
        request_clear(&r0);
    }
    CHECK_EQ(s.held, 1000);
    int64_t released = 0;
    for (int64_t k = 999; k >= 0; k--) {
        if (sessions_settled(&s, 2 * k, 7, &out) != 1) continue;
        released += out.id == 2 * k + 1 && out.arrival_us == 7 + k;
        request_clear(&out);
    }
    CHECK_EQ(released, 1000);
    CHECK_EQ(s.count, 0);
    sessions_free(&s);
}

TEST(bad_orders_are_refused)
{
    struct sessions s;
    sessions_init(&s);
    struct request out, first = round_of(1, "c", 1, 0);
    CHECK_EQ(sessions_hold(&s, &first, &out), ERR_DATA); /* nothing before it */
    struct request r0 = round_of(2, "c", 0, 0), other = round_of(3, "d", 1, 0),
                   skip = round_of(4, "c", 2, 0);
    sessions_saw(&s, &r0);
    CHECK_EQ(sessions_hold(&s, &other, &out), ERR_DATA); /* another session */
    CHECK_EQ(sessions_hold(&s, &skip, &out), ERR_DATA);  /* round 1 missing */
    /* two chains waiting on one id */
    struct request again = round_of(5, "c", 1, 0), twin = round_of(2, "e", 0, 0),
                   next = round_of(6, "e", 1, 0);
    CHECK_EQ(sessions_hold(&s, &again, &out), 0);
    sessions_saw(&s, &twin);
    CHECK_EQ(sessions_hold(&s, &next, &out), ERR_DATA);
    request_clear(&r0);
    request_clear(&twin);
    sessions_free(&s);
}

int
main(void)
{
    set_program_name("test_sessions");
    RUN(rounds_wait_for_the_round_before);
    RUN(a_round_after_a_settled_one_goes_at_once_never_before_arrival);
    RUN(many_sessions_grow_the_table_and_release_each);
    RUN(bad_orders_are_refused);
    return check_done();
}
