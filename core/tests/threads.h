/* How many threads this process runs (/proc/self/status): the core must
 * start none of its own. -1 when it cannot be read. */
#ifndef PP_TEST_THREADS_H
#define PP_TEST_THREADS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "Threads:", 8))
            n = atoi(line + 8);
    if (f)
        fclose(f);
    return n;
}

#endif
