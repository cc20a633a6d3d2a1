/* Small helpers shared by every module: clocks, timestamps, randomness,
 * durations, base64, UTF-8 repair and a growable byte buffer. */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Wall-clock seconds with sub-second precision. Deadlines use the wall
 * clock because they are also shown to clients as timestamps. */
double now_s(void);

/* "YYYY-MM-DD HH:MM:SS" in UTC; buf needs 20 bytes. */
void fmt_time(double t, char buf[20]);
/* Parses that format (UTC); returns 0 on success. */
int parse_time(const char *s, double *out);

/* Process-wide PRNG (splitmix64), seeded by --seed, safe from any thread. */
void rng_seed(uint64_t seed);
uint64_t rng_u64(void);
double rng_unit(void);           /* [0, 1) */
int rng_chance(double p);        /* true with probability p */
double rng_normal(void);

/* Stateless 64-bit hash (FNV-1a then a final mix), for deterministic
 * synthesized content: same input, same output, on every run. */
uint64_t hash64(const void *data, size_t len, uint64_t seed);
uint64_t mix64(uint64_t x);

/* Durations such as "0", "2", "2s", "150ms", "1.5m"; returns 0 on success. */
int parse_duration(const char *s, double *out);

/* Standard base64 (with padding). Returns a malloc'd NUL-terminated string
 * or NULL when out of memory. */
char *base64_encode(const unsigned char *in, size_t len, size_t *outlen);

/* Copies in into a malloc'd buffer that is valid UTF-8: bytes that are not
 * part of a well-formed sequence become U+FFFD. NULL when out of memory. */
char *utf8_repair(const char *in, size_t len, size_t *outlen);

struct buf {
  char *data;
  size_t len, cap;
  int oom; /* sticky: set once an append failed, later appends are no-ops */
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...);
/* Appends s with <, >, &, " and ' escaped for HTML text and attributes. */
void buf_add_html(struct buf *b, const char *s);
/* Hands the buffer (NUL-terminated) to the caller; NULL if it ran out of
 * memory at any point. */
char *buf_take(struct buf *b, size_t *len);

#endif
