/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * import_run: what every `calibrate import` format reads its source into,
 * and the one writer that turns it into the files the tools exchange
 * (docs/calibration.md):
 *
 *   DIR/requests.csv      the request stream, in arrival order
 *   DIR/measured.csv      the measured per-request results
 *   DIR/engine.yaml       the engine configuration, for simulate --config
 *   DIR/measured-itl.csv  the measured token gaps (ITL side file), only when
 *                         the source records them
 *
 * A measured_run owns its requests (and their strings), its engine text and
 * its histogram; measured_run_free releases them. The writer creates every
 * file under a temporary name and renames them only when all are complete,
 * so a failed import leaves nothing that looks like a result.
 *
 * The JSON helpers check one member of a JSON object and report a problem
 * once, naming the file and the element: "FILE: ELEMENT.KEY: why" for a
 * JSON document, "FILE:LINE: field 'KEY': why" for a line of a JSON Lines
 * file (json_place.line > 0).
 */
#ifndef SERVESIM_JOBS_IMPORT_RUN_H
#define SERVESIM_JOBS_IMPORT_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct itl_histogram;

#define IMPORT_MAX_TOKENS ((int64_t)1 << 40)
#define IMPORT_MAX_TIME_US ((int64_t)1 << 60)

/* One measured request. Times are microseconds from the start of the run. */
struct measured_request {
    int64_t id, arrival_us, input_tokens, output_tokens;
    bool failed;      /* failed at the client or server: written as dropped */
    bool has_latency; /* ttft_us and e2e_us are measured */
    int64_t ttft_us, e2e_us;
    int64_t queued_us, scheduled_us;   /* absolute; TIME_NONE when not recorded */
    char *prefix, *slo_class, *tenant; /* owned; NULL reads as "" */
};

struct measured_run {
    struct measured_request *requests;
    size_t count;
    char *engine_yaml;         /* the whole engine.yaml text, owned */
    struct itl_histogram *itl; /* owned; NULL when the source has no token gaps */
};

/* A request with nothing measured yet: queued_us and scheduled_us TIME_NONE. */
void measured_request_init(struct measured_request *request);

void measured_run_free(struct measured_run *run);

/*
 * Sorts the requests into arrival order (ties by id) and checks that no id
 * appears twice (ERR_DATA, naming `source`). 0 or ERR_DATA.
 */
int measured_run_sort(struct measured_run *run, const char *source);

/* Writes the files into out_dir, all or none. 0, ERR_CONFIG, ERR_INTERNAL. */
int measured_run_write(const struct measured_run *run, const char *out_dir);

/* ---- checked JSON members ---- */

struct json_place {
    const char *file;
    const char *element; /* "requests[3]"; ignored when line > 0 */
    long line;           /* > 0 for JSON Lines */
};

/* Reports "PLACE KEY: why" as a data error; returns ERR_DATA. */
int json_place_error(const struct json_place *place, const char *key, const char *why);
/* An integer member in [min, max]. */
int json_get_integer(const struct json_place *place, const json_t *object, const char *key,
                     int64_t min, int64_t max, int64_t *out);
/* A finite number member in [min, max]. */
int json_get_number(const struct json_place *place, const json_t *object, const char *key,
                    double min, double max, double *out);
/* A finite number >= 0 of seconds, up to 1e9, as rounded microseconds. */
int json_get_seconds(const struct json_place *place, const json_t *object, const char *key,
                     int64_t *out);
int json_get_boolean(const struct json_place *place, const json_t *object, const char *key,
                     bool *out);
/* A string member; *out points into the object. */
int json_get_string(const struct json_place *place, const json_t *object, const char *key,
                    const char **out);

/* Loads a whole JSON document: ERR_CONFIG when unreadable, ERR_DATA (file:line:column) when
 * malformed. */
int json_load_path(const char *path, json_t **out);

/* Called for each JSON object of a JSON Lines file (at names the file and line); a non-zero
 * return stops the reading and is returned. */
typedef int json_line_fn(const struct json_place *at, const json_t *object, void *context);
/* Reads a JSON Lines file, skipping blank lines: ERR_CONFIG when unreadable, ERR_DATA (file:
 * line) for a line that is not a JSON object, or what `each` returned. */
int json_lines_read(const char *path, json_line_fn *each, void *context);

/* Writes a Hugging Face model id lower-cased, as the catalog keys models, as a YAML
 * double-quoted string. */
void write_model_id(FILE *out, const char *model);

/* Writes the engine key under which a preempted request resumes, as vLLM's do. */
void write_vllm_preemption(FILE *out);

#endif
