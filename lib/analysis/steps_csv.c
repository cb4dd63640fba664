/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "analysis/steps_csv.h"

#include <inttypes.h>

void
steps_csv_write_header(FILE *out)
{
    fputs(STEPS_CSV_HEADER "\n", out);
}

void
steps_csv_write(FILE *out, const struct step_record *s)
{
    fprintf(out,
            "%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
            ",%" PRId64 "\n",
            s->instance, s->start_us, s->duration_us, s->prefill_tokens, s->decode_tokens,
            s->batch_size, s->waiting, s->kv_used_blocks, s->preempted);
}
