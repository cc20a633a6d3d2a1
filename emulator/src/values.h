/* How many jobs submissions created per submitted value (a url or a query):
 * GET /_emulator/values. It lets a test prove that a client never had the
 * same value created twice, e.g. by resending a submission whose answer was
 * lost. Jobs started by schedule runs are not counted: a schedule repeats
 * its items by design. */
#ifndef EMU_VALUES_H
#define EMU_VALUES_H

#include <jansson.h>
#include <stddef.h>

/* Distinct values remembered at most; later new values are not counted and
 * the answer says "truncated": true (memory stays bounded on long runs). */
#define VALUES_MAX 1000000u

/* Counts one job for each of the first n strings of targets. */
void values_add(int is_url, const json_t *targets, size_t n);
/* {"url": {VALUE: JOBS, ...}, "query": {...}, "created_twice": N,
 *  "truncated": BOOL}; NULL when out of memory. */
json_t *values_json(void);
/* Forgets every value (POST /_emulator/reset). */
void values_clear(void);

#endif
