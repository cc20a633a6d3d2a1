/* Allocations that fail on demand: a test linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc gets every allocation of
 * the code linked into it (the core, not shared libraries) through here.
 * countdown = n makes the n-th from now fail (0: the next one); -1 never.
 * failures counts those that did. */
#ifndef PP_TEST_FAILING_ALLOC_H
#define PP_TEST_FAILING_ALLOC_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static long countdown = -1; /* fail when it reaches 0; -1 never */
static long failures;

static int fail_now(void)
{
    if (countdown < 0)
        return 0;
    if (countdown-- == 0) {
        failures++;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t m)
{
    return fail_now() ? NULL : __real_calloc(n, m);
}
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

#endif
