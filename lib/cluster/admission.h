/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * admission: decides, at a request's arrival, whether the cluster takes
 * it (docs/cluster.md). always; reject-all; token-bucket (a bucket of
 * capacity C tokens, full at t = 0, refilled at R tokens/s, continuously;
 * a request costs its input tokens and is admitted when the bucket holds
 * that many, which it then takes); slo-shed (a request of priority p >= 1
 * is refused while the mean queue per instance, waiting plus in flight as
 * the router sees them, is at least shed_queue_depth / p; priority 0 is
 * never shed).
 *
 * The bucket counts micro-tokens in integers, so admission is exact and
 * the same on every machine. Admission holds no memory of its own.
 */
#ifndef SERVESIM_CLUSTER_ADMISSION_H
#define SERVESIM_CLUSTER_ADMISSION_H

#include "cluster/cluster.h"
#include "model/request.h"

#include <stdbool.h>
#include <stdint.h>

struct admission {
    enum admission_policy policy;
    int64_t capacity_micro, level_micro, refill_per_s, last_us;
    double shed_queue_depth;
};

void admission_init(struct admission *admission, const struct cluster_policy *policy);
/* mean_queue: waiting plus in flight per instance, as the router sees it. */
bool admission_admit(struct admission *admission, const struct request *request,
                     int64_t priority, double mean_queue, int64_t now_us);

#endif
