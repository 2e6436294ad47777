/* Small logging API: levels checked before formatting; stderr in the foreground.
 * Never pass a secret to these functions. */
#ifndef IDSYNC_UTIL_LOG_H
#define IDSYNC_UTIL_LOG_H
typedef enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;
extern log_level log_current_level;
void log_set_level(log_level l);
/* Prefix such as "connector=corp run=42" added to every line until cleared (NULL). */
void log_set_context(const char *ctx);
void log_msg(log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) do { if (log_current_level >= LOG_WARN) log_msg(LOG_WARN, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_current_level >= LOG_INFO) log_msg(LOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_current_level >= LOG_DEBUG) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#endif
