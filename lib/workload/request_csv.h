/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * request_csv: the request stream format (docs/formats.md, "Request stream"),
 * read one request at a time and written one line at a time.
 *
 * The reader validates every field (strict numbers, input and output
 * tokens >= 1, prefix segments within the prompt) and the stream's order
 * (arrival_us non-decreasing; a closed-loop round, one with after_us,
 * comes right after the previous round of its session); a bad line is
 * reported with file:line and the field, and reading stops. Streams with
 * closed-loop rounds carry after_us as a tenth column; the others are
 * written with the nine columns only, so they stay what they always were. The reader does not own the FILE; each
 * request it returns is the caller's (request_clear it).
 */
#ifndef SERVESIM_WORKLOAD_REQUEST_CSV_H
#define SERVESIM_WORKLOAD_REQUEST_CSV_H

#include "model/request.h"

#include <stdio.h>

#define REQUEST_CSV_HEADER "id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round"
#define REQUEST_CSV_HEADER_CLOSED_LOOP REQUEST_CSV_HEADER ",after_us"

struct request_reader;

/* Reads the header. 0, or ERR_DATA (reported; *out untouched). */
int request_reader_open(FILE *in, const char *name, struct request_reader **out);
/* 1: *out filled; 0: end of stream; ERR_DATA (reported). */
int request_reader_next(struct request_reader *reader, struct request *out);
void request_reader_free(struct request_reader *reader);

void request_csv_write_header(FILE *out);
void request_csv_write(FILE *out, const struct request *request);
/* The same with the after_us column (empty for requests sent at arrival_us). */
void request_csv_write_header_closed_loop(FILE *out);
void request_csv_write_closed_loop(FILE *out, const struct request *request);

#endif
