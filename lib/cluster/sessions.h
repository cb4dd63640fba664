/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sessions: the closed-loop rounds a simulation holds back (docs/formats.md,
 * "after_us"). A closed-loop round r >= 1 follows round r - 1 of its session
 * in the request stream; it is held until round r - 1 settles (its result is
 * reported, whatever its status), then released at
 * max(arrival_us, settled + after_us) with that time as its arrival_us.
 *
 * The table keeps one chain of held rounds per session whose next round
 * waits, keyed by the id of the round it waits on, and the last request
 * read (id, session hash, round, whether it settled already: a request can
 * be rejected before the round after it is read). Memory is O(sessions in
 * flight + their held rounds). Held requests are the table's; a released
 * one is handed to the caller, who request_clear()s it.
 */
#ifndef SERVESIM_CLUSTER_SESSIONS_H
#define SERVESIM_CLUSTER_SESSIONS_H

#include "model/request.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct held_round;

struct session_chain {
    int64_t waiting_id; /* the request whose result releases the head */
    struct held_round *head, *tail;
    bool occupied;
};

struct sessions {
    struct session_chain *slots; /* open addressing on waiting_id */
    size_t capacity, count;
    int64_t held; /* rounds held now */
    /* the last request read */
    bool have_last, last_settled;
    int64_t last_id, last_round, last_settled_us;
    uint64_t last_session;
    bool last_held; /* it was held, in the chain waiting on last_chain_key */
    int64_t last_chain_key;
};

void sessions_init(struct sessions *sessions);
/* Frees every held request. */
void sessions_free(struct sessions *sessions);

/* Notes a request read from the stream that is sent at its arrival. */
void sessions_saw(struct sessions *sessions, const struct request *request);

/* Takes *request (a closed-loop round; *request is zeroed). 1: it is
 * released at once (the round before it had settled): *release holds it,
 * arrival_us set; 0: held; ERR_DATA when it does not follow the round
 * before it (reported); ERR_INTERNAL. */
int sessions_hold(struct sessions *sessions, struct request *request, struct request *release);

/* A result for id was reported at settled_us. 1: *release is the round that
 * waited on it, arrival_us set; 0: none did. ERR_INTERNAL. */
int sessions_settled(struct sessions *sessions, int64_t id, int64_t settled_us,
                     struct request *release);

#endif
