/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "cluster/admission.h"

void
admission_init(struct admission *a, const struct cluster_policy *p)
{
    *a = (struct admission){
        .policy = p->admission,
        .capacity_micro = p->bucket_capacity_tokens * 1000000,
        .level_micro = p->bucket_capacity_tokens * 1000000,
        .refill_per_s = p->bucket_refill_tokens_per_s,
        .shed_queue_depth = p->shed_queue_depth,
    };
}

/* tokens/s times microseconds is micro-tokens; stop at the capacity
 * before the product can overflow. */
static void
refill(struct admission *a, int64_t now_us)
{
    int64_t dt = now_us - a->last_us;
    a->last_us = now_us;
    int64_t room = a->capacity_micro - a->level_micro;
    if (a->refill_per_s == 0 || dt <= 0 || room == 0) return;
    if (dt >= room / a->refill_per_s + 1) a->level_micro = a->capacity_micro;
    else a->level_micro += dt * a->refill_per_s;
    if (a->level_micro > a->capacity_micro) a->level_micro = a->capacity_micro;
}

bool
admission_admit(struct admission *a, const struct request *q, int64_t priority, double mean_queue,
                int64_t now_us)
{
    switch (a->policy) {
    case ADMISSION_ALWAYS: return true;
    case ADMISSION_REJECT_ALL: return false;
    case ADMISSION_SLO_SHED:
        return priority <= 0 || mean_queue < a->shed_queue_depth / (double)priority;
    case ADMISSION_TOKEN_BUCKET: {
        refill(a, now_us);
        int64_t cost = q->input_tokens * 1000000;
        if (cost > a->level_micro) return false;
        a->level_micro -= cost;
        return true;
    }
    }
    return true;
}
