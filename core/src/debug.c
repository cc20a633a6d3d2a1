/* Debug lines: what the client is doing, one line at a time, for a person
 * watching (pp_config.debug, or PUSHPULL_DEBUG=1 for stderr). Off, a line
 * costs one test of a pointer (PP_DEBUG); nothing is formatted. Lines never
 * carry credentials: callers give URL paths, never the base URL nor a
 * header. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pp_debug_stderr(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "pushpull: %s\n", line);
}

void pp_debug_init(pp_debug *d, void (*fn)(void *, const char *), void *ud)
{
    d->fn = fn;
    d->ud = ud;
    if (fn)
        return;
    /* PUSHPULL_DEBUG set to anything but "" or "0" turns it on */
    const char *env = getenv("PUSHPULL_DEBUG");
    if (env && env[0] && strcmp(env, "0") != 0)
        d->fn = pp_debug_stderr;
}

void pp_debug_emit(const pp_debug *d, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* one line each, whatever a message quoted */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    d->fn(d->ud, line);
}
