/*
 * p2pchatctl's output: results by the shape the command table gives them,
 * events as tab-separated lines, errors, help; or JSON lines with --json.
 */
#ifndef P2P_OUTPUT_H
#define P2P_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "ctlcmd.h"

void	 output_init(bool json);
bool	 output_json(void);
bool	 output_tty(void);
/* Flush stdout; exits quietly if the reader went away, 1 on other errors. */
void	 output_flush(void);
/* Escape a string for one tab-separated field (and, on a tty, controls). */
char	*output_escape(const char *, size_t);
/*
 * A message's text for people: on a terminal as written (tabs, newlines
 * and backslashes kept; controls and bidi overrides still neutralised),
 * else escaped as output_escape does.
 */
char	*output_text(const char *, size_t);
/* A value as one field: "-" for null/absent/"", yes/no, numbers, text. */
char	*output_value(const json_t *);
/* Compact JSON in a malloc'd buffer with room for extra bytes after it. */
char	*output_dump(const json_t *, size_t extra, size_t *len);
/* Print a line as it is, then a newline, and flush. */
void	 output_line(const char *, size_t);
/* Print a successful result. */
void	 output_result(const struct ctl_cmd_desc *, const json_t *);
/* The i-th event line's name and field names (NULL-ended); false past the end. */
bool	 output_event_format(size_t i, const char **name, const char **fields,
	    size_t max);
/* The part of a failed command's answer that goes to stdout (ids, states). */
void	 output_error_result(const struct ctl_cmd_desc *, const json_t *error);
/* Print an error object; returns the exit code (3 for "timeout", else 1). */
int	 output_error(const json_t *);
/* Print one event; raw is the line as received (printed with --json). */
void	 output_event(const json_t *, const char *raw, size_t rawlen);

#endif
