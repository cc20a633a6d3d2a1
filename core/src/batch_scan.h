/* An incremental reader of batch submission answers.
 *
 * POST /v1/queries/batch answers {"queries": [job, job, ...]}: up to 5,000
 * job objects, several MB. Parsing the whole body into one jansson tree
 * costs about five times its size; this scanner instead hands out each
 * element of the "queries" array as raw JSON text the moment its last byte
 * arrives, buffering only that element (and only when it straddles two
 * feeds), so the caller parses one job at a time.
 *
 * It is a structural scanner, not a parser: it checks the full JSON grammar
 * (strings with every escape, surrogate pairs, UTF-8, numbers, literals,
 * nesting up to PP_SCAN_MAX_DEPTH) so that every element it hands out is
 * exactly one complete JSON value, but builds nothing. Other top-level keys
 * are checked and skipped. A second "queries" key is refused: its elements
 * could not be taken back. The scanner accepts what RFC 8259 accepts;
 * jansson may still refuse a handed-out element for what it does not take
 * (\u0000 without JSON_ALLOW_NUL, an integer beyond 64 bits).
 *
 * Leaf module: standard headers only. A scanner is single-threaded; two
 * scanners share nothing. */
#ifndef PP_BATCH_SCAN_H
#define PP_BATCH_SCAN_H

#include <stddef.h>

/* Deepest nesting accepted, the top-level object and the array included. */
#define PP_SCAN_MAX_DEPTH 64
/* max_item when pp_scan_new is given 0. */
#define PP_SCAN_DEFAULT_MAX_ITEM ((size_t)1 << 20)

typedef struct pp_scan pp_scan;

/* Called once per element of the top-level object's "queries" array, in
 * order, with that element's raw JSON text (a complete value, any type,
 * without surrounding whitespace). The text is not NUL-terminated and is
 * valid only during the call. Return 0 to go on, non-zero to stop the scan
 * (pp_scan_feed then returns -1). The callback must not feed or free the
 * scanner. */
typedef int (*pp_scan_item_fn)(void *ud, size_t index, const char *json, size_t len);

/* max_item: largest element accepted, in bytes (0 = 1 MiB). NULL on no
 * memory or when fn is NULL. */
pp_scan *pp_scan_new(pp_scan_item_fn fn, void *ud, size_t max_item);

/* Feeds the next bytes of the body, split anywhere. 0, or -1 once the input
 * is malformed, an element exceeds max_item, memory ran out, or the
 * callback stopped it (further feeds return -1). How the body is split
 * changes nothing: the same elements come out and the same error, at the
 * same byte offset. */
int pp_scan_feed(pp_scan *s, const char *data, size_t len);

/* The body ended: 0 when it was one complete, well formed JSON object with
 * a "queries" array (other keys skipped, whitespace allowed, nothing but
 * whitespace after it); -1 otherwise. */
int pp_scan_end(pp_scan *s);

/* Elements handed out so far (the one a callback stopped at included). */
size_t pp_scan_count(const pp_scan *s);

/* Bytes held for elements that straddle feeds: grows to the largest such
 * element (rounded up to a power of two times 4 KiB, at most max_item). */
size_t pp_scan_capacity(const pp_scan *s);

/* Why it failed ("byte N: ..."), NULL if it did not. */
const char *pp_scan_error(const pp_scan *s);

void pp_scan_free(pp_scan *s);

#endif
