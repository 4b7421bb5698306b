/*
 * Logging to stderr, one line per event: "LEVEL subsystem: message".
 * Callers pass the subsystem as "%s: " with __func__ or a fixed name.
 */
#ifndef P2P_LOG_H
#define P2P_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

void	log_init(enum log_level);
void	log_setlevel(enum log_level);
enum log_level log_getlevel(void);
/* Parse "error", "warn", "info", "debug"; -1 if none. */
int	log_parselevel(const char *);
const char *log_levelname(enum log_level);

void	log_warn(const char *, ...) LOG_PRINTF(1, 2);	/* adds strerror(errno) */
void	log_warnx(const char *, ...) LOG_PRINTF(1, 2);
void	log_error(const char *, ...) LOG_PRINTF(1, 2);
void	log_info(const char *, ...) LOG_PRINTF(1, 2);
void	log_debug(const char *, ...) LOG_PRINTF(1, 2);
void	fatal(const char *, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void	fatalx(const char *, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
