/* jansson conveniences used across the emulator. */
#ifndef EMU_JSON_UTIL_H
#define EMU_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>

/* Compact serialization into a malloc'd, NUL-terminated buffer. NULL when
 * out of memory. */
char *json_dump_alloc(const json_t *v, size_t *len);

/* A string value built from arbitrary bytes: invalid UTF-8 is repaired, so
 * content fetched from any site can always be put into an answer. */
json_t *json_bytes(const char *data, size_t len);

/* Takes the text collected in b (see util.h) as a JSON string; NULL when out
 * of memory. b is emptied either way. */
struct buf;
json_t *json_from_buf(struct buf *b);

/* json_object_set_new that reports failure (also when v is NULL, which is
 * how jansson constructors report out-of-memory). Returns 0 on success. */
int jset(json_t *obj, const char *key, json_t *v);

/* The string at key, or NULL when absent or not a string. */
const char *jstr(const json_t *obj, const char *key);

#endif
