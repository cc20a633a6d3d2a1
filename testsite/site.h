/* pushpull-testsite: a small local website used as the scrape target and the
 * callback receiver of the tests, the demo and the benchmarks. */
#ifndef PUSHPULL_TESTSITE_SITE_H
#define PUSHPULL_TESTSITE_SITE_H

#include "pc_buf.h"

#include <stddef.h>

/* Largest and default size of a generated page, in bytes. */
#define PAGE_MAX_SIZE (1024u * 1024u)
#define PAGE_DEFAULT_SIZE 2048u

/* Writes the deterministic HTML page number n, of about size bytes (exactly
 * size when size is larger than the page's fixed parts), into out. */
int page_render(pc_buf *out, unsigned long long n, size_t size);

/* The callback store: records what was posted to /callback/NAME and
 * /callback-fail/NAME, bounded in count and bytes (the oldest go first). */
int store_init(size_t max_records, size_t max_bytes);
void store_destroy(void);
int store_add(const char *name, const char *body, size_t body_len, const char *remote,
              const char *content_type, int ok);
/* The records of one name as a JSON document {"callbacks":[...]}, malloc'd
 * and NUL-terminated; NULL when memory runs out. */
char *store_dump(const char *name);
/* Removes the records of one name; returns how many went. */
size_t store_clear(const char *name);

#endif
