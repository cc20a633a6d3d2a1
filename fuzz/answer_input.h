/* The shape two targets give their input: header lines up to a blank
 * line, then the body. Each line goes to the core's own header reader. */
#ifndef PP_FUZZ_ANSWER_INPUT_H
#define PP_FUZZ_ANSWER_INPUT_H

#include "transport.h"

#include <string.h>

/* Reads header lines from p up to a blank line (or end); returns where the
 * body begins. */
static inline const char *read_headers(const char *p, const char *end, long *remaining, long *limit,
                                       int *jobhdr)
{
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n == 0)
            return p + 1;
        pp_header_parse(p, n, remaining, limit, jobhdr);
        p += n + (nl ? 1 : 0);
    }
    return p;
}

#endif
