#include "common/log.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int log_level = LOG_WARN;

void log_init_from_env(void)
{
    const char *v = getenv("STAMPEDE_LOG");
    if (!v) return;
    if (!strcmp(v, "debug")) log_level = LOG_DEBUG;
    else if (!strcmp(v, "info")) log_level = LOG_INFO;
    else if (!strcmp(v, "warn")) log_level = LOG_WARN;
    else if (!strcmp(v, "error")) log_level = LOG_ERROR;
}

void log_msg(int level, const char *tag, const char *fmt, ...)
{
    static const char *names[] = { "error", "warn", "info", "debug" };
    if (level > log_level) return;
    char line[1024];
    int n = snprintf(line, sizeof line, "stampede[%s] %s: ", tag, names[level & 3]);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line) vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
