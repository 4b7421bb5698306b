/*
 * Logging to stderr, one line per event: "LEVEL subsystem: message".
 * Callers pass the subsystem as "%s: " with __func__ or a fixed name.
 */
#ifndef P2P_LOG_H
#define P2P_LOG_H

#include <stdarg.h>
#include <stdbool.h>

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

/*
 * Lines a remote source causes (bad frames, refused logins, connections):
 * at most LOG_SRC_BURST lines of one kind (format) per LOG_SRC_WINDOW
 * seconds per source (an address, or a user name), and LOG_ALL_BURST of
 * a kind from all sources together (so that many sources' connections
 * do not hide their failed logins); the rest are counted, and summarised
 * once the window has passed ("WARN log: 4210 more lines from 127.0.0.5
 * suppressed ...").
 */
#define LOG_SRC_WINDOW	10.0
#define LOG_SRC_BURST	20
#define LOG_ALL_BURST	200
void	log_warnx_from(const char *src, const char *, ...) LOG_PRINTF(2, 3);
void	log_info_from(const char *src, const char *, ...) LOG_PRINTF(2, 3);
/* Print the summaries of windows that have passed (a timer calls it), or
 * all of them (at exit). */
void	log_flush_suppressed(bool all);
void	fatalx(const char *, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
