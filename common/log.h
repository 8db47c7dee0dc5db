/* Logging to stderr with a level and a component tag. Thread-safe (one fprintf per
 * line). Not for hot paths: count events there and report them once. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H
enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
extern int log_level;            /* default LOG_WARN; STAMPEDE_LOG=debug|info|warn|error */
void log_init_from_env(void);
void log_msg(int level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define log_error(tag, ...) log_msg(LOG_ERROR, tag, __VA_ARGS__)
#define log_warn(tag, ...)  log_msg(LOG_WARN, tag, __VA_ARGS__)
#define log_info(tag, ...)  log_msg(LOG_INFO, tag, __VA_ARGS__)
#define log_debug(tag, ...) log_msg(LOG_DEBUG, tag, __VA_ARGS__)
#endif
