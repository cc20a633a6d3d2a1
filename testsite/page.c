#include "site.h"

#include <string.h>

static const char *const words[] = {
    "alpha",  "bravo",  "charlie", "delta",  "echo",    "foxtrot",  "golf",    "hotel",
    "india",  "juliet", "kilo",    "lima",   "mike",    "november", "oscar",   "papa",
    "quebec", "romeo",  "sierra",  "tango",  "uniform", "victor",   "whiskey", "xray",
    "yankee", "zulu",   "scrape",  "result", "queue",   "batch",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* A small deterministic generator (xorshift64*), seeded from the page number,
 * so that a page's text depends on nothing but its number and size. */
static unsigned long long next_rand(unsigned long long *s)
{
    unsigned long long x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

/* One paragraph of 12 to 40 words. */
static int paragraph(pc_buf *p, unsigned long long *seed)
{
    unsigned count = 12 + (unsigned)(next_rand(seed) % 29);
    if (pc_buf_append(p, "<p>", 3) != 0)
        return -1;
    for (unsigned i = 0; i < count; i++) {
        const char *w = words[next_rand(seed) % NWORDS];
        if ((i && pc_buf_append(p, " ", 1) != 0) || pc_buf_append(p, w, strlen(w)) != 0)
            return -1;
    }
    return pc_buf_append(p, ".</p>\n", 6);
}

int page_render(pc_buf *out, unsigned long long n, size_t size)
{
    static const char tail[] = "</body>\n</html>\n";
    const size_t tail_len = sizeof(tail) - 1;
    unsigned long long seed = (n + 1) * 0x9E3779B97F4A7C15ULL;
    pc_buf p = PC_BUF_INIT;
    int rc = -1;

    if (size > PAGE_MAX_SIZE)
        size = PAGE_MAX_SIZE;
    if (pc_buf_reserve(out, size + 1024) != 0)
        return -1;

    unsigned long long prev = n ? n - 1 : 0;
    unsigned long long related = (n * 7 + 3) % 100000;
    if (pc_buf_appendf(out,
                       "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                       "<title>Page %llu</title>\n</head>\n<body>\n"
                       "<h1>Page %llu</h1>\n"
                       "<nav>\n"
                       "<a href=\"/page/%llu\">Next</a>\n"
                       "<a href=\"/page/%llu\">Previous</a>\n"
                       "<a href=\"/page/%llu\">Related</a>\n"
                       "<a href=\"/page/0\">Home</a>\n"
                       "</nav>\n",
                       n, n, n + 1, prev, related) != 0)
        return -1;

    /* Whole paragraphs while they fit, then one cut to the exact size. */
    for (;;) {
        pc_buf_reset(&p);
        if (paragraph(&p, &seed) != 0)
            goto done;
        if (out->len + p.len + tail_len > size)
            break;
        if (pc_buf_append(out, p.data, p.len) != 0)
            goto done;
    }
    if (out->len + tail_len < size) {
        size_t room = size - out->len - tail_len;
        if (room >= 8) {
            /* "<p>" + text + "</p>\n" */
            size_t text = room - 8;
            if (pc_buf_append(out, "<p>", 3) != 0 || pc_buf_append(out, p.data + 3, text) != 0 ||
                pc_buf_append(out, "</p>\n", 5) != 0)
                goto done;
        } else {
            while (room--)
                if (pc_buf_append(out, "\n", 1) != 0)
                    goto done;
        }
    }
    if (pc_buf_append(out, tail, tail_len) != 0)
        goto done;
    rc = 0;
done:
    pc_buf_free(&p);
    return rc;
}
