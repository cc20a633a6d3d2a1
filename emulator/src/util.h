/* Small helpers shared by every module: clocks, timestamps, randomness,
 * durations and base64. The byte buffer and the JSON helpers are in common/
 * (pc_buf.h, pc_json.h). */
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
double rng_unit(void);    /* [0, 1) */
int rng_chance(double p); /* true with probability p */
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

#endif
