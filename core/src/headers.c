/* Reads the response headers that matter to the client: the rate-limit
 * budget (x-ratelimit-<name>-remaining / -limit, the smallest of each) and
 * the job status the service states beside an answer
 * (x-oxylabs-job-status). Header lines come from the network: nothing is
 * assumed about their length or content. */
#include "transport.h"

#include <string.h>

static void trim(const char **s, const char **e)
{
    while (*s < *e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r' || (*e)[-1] == '\n'))
        (*e)--;
}

static int ends_with_ci(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && pp_strncaseeq(s + n - k, suffix, k);
}

static long parse_count(const char *s, const char *e)
{
    long v = 0;
    if (s == e)
        return -1;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > 100000000L)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int pp_header_parse(const char *line, size_t len, long *remaining, long *limit, int *jobhdr)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    const char *ns = line, *ne = colon, *vs = colon + 1, *ve = line + len;
    trim(&ns, &ne);
    trim(&vs, &ve);
    size_t nl = (size_t)(ne - ns);
    static const char pfx[] = "x-ratelimit-";
    if (nl > sizeof pfx - 1 && pp_strncaseeq(ns, pfx, sizeof pfx - 1)) {
        long *slot = NULL;
        if (nl >= sizeof pfx - 1 + 9 && ends_with_ci(ns, nl, "remaining"))
            slot = remaining;
        else if (nl >= sizeof pfx - 1 + 5 && ends_with_ci(ns, nl, "limit"))
            slot = limit;
        if (!slot)
            return 0;
        long v = parse_count(vs, ve);
        if (v < 0)
            return 0;
        if (*slot < 0 || v < *slot)
            *slot = v;
        return 1;
    }
    static const char js[] = "x-oxylabs-job-status";
    if (nl == sizeof js - 1 && pp_strncaseeq(ns, js, nl)) {
        size_t vl = (size_t)(ve - vs);
        if (vl == 7 && pp_strncaseeq(vs, "pending", 7))
            *jobhdr = PP_HDR_PENDING;
        else if (vl == 4 && pp_strncaseeq(vs, "done", 4))
            *jobhdr = PP_HDR_DONE;
        else if (vl == 7 && pp_strncaseeq(vs, "faulted", 7))
            *jobhdr = PP_HDR_FAULTED;
        else
            *jobhdr = PP_HDR_OTHER;
        return 1;
    }
    return 0;
}
