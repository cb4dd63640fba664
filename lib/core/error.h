/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * error: the one family of diagnostics used by servesim.
 *
 * Every message goes to stderr as "PROGRAM: message". Library functions
 * report a problem with error() (bad input data), config_error() (bad
 * flag or configuration) or internal_error(), and propagate the returned
 * negative code; tools map it to an exit status with exit_status_of().
 * Only tools call die(); the library never exits.
 */
#ifndef SERVESIM_CORE_ERROR_H
#define SERVESIM_CORE_ERROR_H

/* Exit statuses shared by every tool (docs/formats.md, "Exit codes"). */
enum exit_status {
    EXIT_OK = 0,
    EXIT_DATA = 1,     /* bad input data: message names file:line and field */
    EXIT_USAGE = 2,    /* bad flag, configuration or YAML */
    EXIT_INTERNAL = 3, /* a bug or a failed system call (write, rename) */
};

/* Negative return codes: `return error(...)` propagates the class. */
enum error_code { ERR_DATA = -1, ERR_CONFIG = -2, ERR_INTERNAL = -3 };

void set_program_name(const char *argv0);
const char *program_name(void);

int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int config_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int internal_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Maps 0 / ERR_* to an enum exit_status. */
int exit_status_of(int code);

#endif
