/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * request_csv: the request stream format (docs/formats.md, "Request stream"),
 * read one request at a time and written one line at a time.
 *
 * The reader validates every field (strict numbers, input and output
 * tokens >= 1, prefix segments within the prompt) and the stream's order
 * (arrival_us non-decreasing); a bad line is reported with file:line and
 * the field, and reading stops. The reader does not own the FILE; each
 * request it returns is the caller's (request_clear it).
 */
#ifndef SERVESIM_WORKLOAD_REQUEST_CSV_H
#define SERVESIM_WORKLOAD_REQUEST_CSV_H

#include "model/request.h"

#include <stdio.h>

#define REQUEST_CSV_HEADER "id,arrival_us,input_tokens,output_tokens,prefix,slo_class,tenant,session,round"

struct request_reader;

/* Reads the header. 0, or ERR_DATA (reported; *out untouched). */
int request_reader_open(FILE *in, const char *name, struct request_reader **out);
/* 1: *out filled; 0: end of stream; ERR_DATA (reported). */
int request_reader_next(struct request_reader *reader, struct request *out);
void request_reader_free(struct request_reader *reader);

void request_csv_write_header(FILE *out);
void request_csv_write(FILE *out, const struct request *request);

#endif
