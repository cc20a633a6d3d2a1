/* jansson helpers shared by the emulator, the test site and (later) the
 * core: compact dumps, strings from arbitrary bytes, checked setters, and
 * the {"message": ...} body of every error answer. */
#ifndef PC_JSON_H
#define PC_JSON_H

#include "pc_buf.h"

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

/* Compact text of any value, keys in insertion order, malloc'd and
 * NUL-terminated; NULL when out of memory. */
char *pc_json_dump(const json_t *v, size_t *len);
/* The same text appended to b; 0, or -1 when out of memory. */
int pc_json_append(pc_buf *b, const json_t *v);

/* A string value from arbitrary bytes: invalid UTF-8 is repaired (see
 * pc_utf8_repair), so content from any site or client fits in an answer.
 * NULL when out of memory. */
json_t *pc_json_bytes(const char *data, size_t len);
/* Takes the text collected in b as a string value (pc_json_bytes); b is
 * emptied either way. NULL when out of memory or when b failed. */
json_t *pc_json_take_buf(pc_buf *b);

/* json_object_set_new that reports failure, also when v is NULL (which is
 * how jansson constructors report out of memory). 0 / -1. */
int pc_json_set(json_t *obj, const char *key, json_t *v);
/* The string at key; NULL when obj is not an object or the value is absent
 * or not a string. */
const char *pc_json_str(const json_t *obj, const char *key);

/* The text {"message": "..."} of an error answer from a printf format,
 * malloc'd; NULL when out of memory. Messages are cut at 511 bytes, and
 * one that is not valid UTF-8 (it may quote client input) becomes
 * "invalid request". */
char *pc_json_message(size_t *len, const char *fmt, ...) PC_PRINTF(2, 3);
char *pc_json_vmessage(size_t *len, const char *fmt, va_list ap);

/* Copies in into a malloc'd NUL-terminated buffer that is valid UTF-8:
 * bytes that are not part of a well-formed sequence become U+FFFD. NULL
 * when out of memory. */
char *pc_utf8_repair(const char *in, size_t len, size_t *outlen);

#endif
