/* pushpull-testsite: a small local website used as the scrape target and the
 * callback receiver of the tests, the demo and the benchmarks. */
#ifndef PUSHPULL_TESTSITE_SITE_H
#define PUSHPULL_TESTSITE_SITE_H

#include <stddef.h>

/* A growable byte buffer. Functions return 0 on success, -1 when memory runs
 * out (the buffer is then left as it was). */
struct buf {
  char *data;
  size_t len;
  size_t cap;
};

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const char *s, size_t n);
int buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Largest and default size of a generated page, in bytes. */
#define PAGE_MAX_SIZE (1024u * 1024u)
#define PAGE_DEFAULT_SIZE 2048u

/* Writes the deterministic HTML page number n, of about size bytes (exactly
 * size when size is larger than the page's fixed parts), into out. */
int page_render(struct buf *out, unsigned long long n, size_t size);

/* The callback store: records what was posted to /callback/NAME and
 * /callback-fail/NAME, bounded in count and bytes (the oldest go first). */
int store_init(size_t max_records, size_t max_bytes);
void store_destroy(void);
int store_add(const char *name, const char *body, size_t body_len,
              const char *remote, const char *content_type, int ok);
/* The records of one name as a JSON document {"callbacks":[...]}, malloc'd
 * and NUL-terminated; NULL when memory runs out. */
char *store_dump(const char *name);
/* Removes the records of one name; returns how many went. */
size_t store_clear(const char *name);

#endif
