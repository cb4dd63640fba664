/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "cluster/sessions.h"

#include "core/error.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct held_round {
    struct request request;
    struct held_round *next;
};

static void
free_rounds(struct held_round *h)
{
    while (h) {
        struct held_round *next = h->next;
        request_clear(&h->request);
        free(h);
        h = next;
    }
}

void
sessions_init(struct sessions *s)
{
    memset(s, 0, sizeof *s);
}

void
sessions_free(struct sessions *s)
{
    for (size_t i = 0; i < s->capacity; i++)
        if (s->slots[i].occupied) free_rounds(s->slots[i].head);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static size_t
home(const struct sessions *s, int64_t id)
{
    /* splitmix64's finalizer: ids are often consecutive */
    uint64_t x = (uint64_t)id + 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return (size_t)(x ^ (x >> 31)) & (s->capacity - 1);
}

static struct session_chain *
find(const struct sessions *s, int64_t id)
{
    if (!s->count) return NULL;
    for (size_t i = home(s, id);; i = (i + 1) & (s->capacity - 1)) {
        if (!s->slots[i].occupied) return NULL;
        if (s->slots[i].waiting_id == id) return &s->slots[i];
    }
}

static int
grow(struct sessions *s)
{
    size_t capacity = s->capacity ? 2 * s->capacity : 64;
    struct session_chain *slots = calloc(capacity, sizeof *slots);
    if (!slots) return internal_error("out of memory");
    struct sessions bigger = *s;
    bigger.slots = slots;
    bigger.capacity = capacity;
    for (size_t i = 0; i < s->capacity; i++) {
        if (!s->slots[i].occupied) continue;
        size_t j = home(&bigger, s->slots[i].waiting_id);
        while (slots[j].occupied)
            j = (j + 1) & (capacity - 1);
        slots[j] = s->slots[i];
    }
    free(s->slots);
    *s = bigger;
    return 0;
}

/* A new empty chain waiting on id: 0, ERR_DATA when another chain already
 * waits on it (ids must be unique), ERR_INTERNAL; reported. */
static int
insert(struct sessions *s, int64_t id, struct session_chain **out)
{
    if (find(s, id))
        return error("request %" PRId64 ": two closed-loop rounds wait on the same request id "
                     "(ids must be unique)",
                     id);
    if (2 * (s->count + 1) > s->capacity && grow(s)) return ERR_INTERNAL;
    size_t i = home(s, id);
    while (s->slots[i].occupied)
        i = (i + 1) & (s->capacity - 1);
    s->slots[i] = (struct session_chain){.waiting_id = id, .occupied = true};
    s->count++;
    *out = &s->slots[i];
    return 0;
}

/* Linear probing's deletion: later entries of the probe run move back. */
static void
erase(struct sessions *s, struct session_chain *chain)
{
    size_t mask = s->capacity - 1, i = (size_t)(chain - s->slots);
    s->slots[i].occupied = false;
    for (size_t j = (i + 1) & mask; s->slots[j].occupied; j = (j + 1) & mask) {
        size_t h = home(s, s->slots[j].waiting_id);
        /* move j to the hole at i when its home is not in (i, j] */
        if (((j - h) & mask) >= ((j - i) & mask)) {
            s->slots[i] = s->slots[j];
            s->slots[j].occupied = false;
            i = j;
        }
    }
    s->count--;
}

static uint64_t
session_hash(const struct request *q)
{
    const char *name = q->session ? q->session : "";
    return XXH3_64bits(name, strlen(name));
}

static void
note_last(struct sessions *s, const struct request *q, bool held, int64_t chain_key)
{
    s->have_last = true;
    s->last_settled = false;
    s->last_id = q->id;
    s->last_round = q->round;
    s->last_session = session_hash(q);
    s->last_held = held;
    s->last_chain_key = chain_key;
}

void
sessions_saw(struct sessions *s, const struct request *q)
{
    note_last(s, q, false, 0);
}

static void
release_at(struct request *q, int64_t settled_us)
{
    int64_t at = settled_us + q->after_us;
    if (at > q->arrival_us) q->arrival_us = at;
}

int
sessions_hold(struct sessions *s, struct request *q, struct request *release)
{
    if (!s->have_last || s->last_session != session_hash(q) || s->last_round != q->round - 1) {
        int rc = error("request %" PRId64 ": closed-loop round %" PRId64 " of session '%s' does "
                       "not follow round %" PRId64 " of that session in the stream",
                       q->id, q->round, q->session ? q->session : "", q->round - 1);
        request_clear(q);
        return rc;
    }
    if (!s->last_held && s->last_settled) {
        release_at(q, s->last_settled_us);
        *release = *q;
        memset(q, 0, sizeof *q);
        note_last(s, release, false, 0);
        return 1;
    }
    struct held_round *h = malloc(sizeof *h);
    struct session_chain *chain = NULL;
    int rc = !h             ? internal_error("out of memory")
             : s->last_held ? 0
                            : insert(s, s->last_id, &chain);
    if (!rc && s->last_held) chain = find(s, s->last_chain_key);
    if (rc || !chain) {
        free(h);
        request_clear(q);
        return rc ? rc : internal_error("closed-loop chain of request %" PRId64 " lost", q->id);
    }
    *h = (struct held_round){.request = *q};
    memset(q, 0, sizeof *q);
    if (chain->tail)
        chain->tail->next = h;
    else
        chain->head = h;
    chain->tail = h;
    s->held++;
    note_last(s, &h->request, true, chain->waiting_id);
    return 0;
}

int
sessions_settled(struct sessions *s, int64_t id, int64_t settled_us, struct request *release)
{
    if (s->have_last && !s->last_held && s->last_id == id) {
        s->last_settled = true;
        s->last_settled_us = settled_us;
    }
    struct session_chain *chain = find(s, id);
    if (!chain) return 0;
    struct held_round *h = chain->head;
    chain->head = h->next;
    if (!chain->head) chain->tail = NULL;
    *release = h->request;
    free(h);
    s->held--;
    release_at(release, settled_us);
    bool last_here = s->last_held && s->last_chain_key == id;
    if (chain->head) {
        /* the rest now waits on the released round; rekeying moves the chain */
        struct held_round *head = chain->head, *tail = chain->tail;
        erase(s, chain);
        struct session_chain *moved;
        int rc = insert(s, release->id, &moved);
        if (rc) {
            free_rounds(head);
            request_clear(release);
            return rc;
        }
        moved->head = head;
        moved->tail = tail;
        if (last_here) s->last_chain_key = release->id;
    } else {
        erase(s, chain);
        /* the released round was the last read: the next one read follows it */
        if (last_here) note_last(s, release, false, 0);
    }
    return 1;
}
