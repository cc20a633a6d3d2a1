#include "json_util.h"

#include "util.h"

#include <stdlib.h>

/* Compact output, no spaces, keys in insertion order. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

char *json_dump_alloc(const json_t *v, size_t *len) {
  size_t n = json_dumpb(v, NULL, 0, DUMP_FLAGS);
  if (n == 0)
    return NULL;
  char *s = malloc(n + 1);
  if (!s)
    return NULL;
  if (json_dumpb(v, s, n, DUMP_FLAGS) != n) {
    free(s);
    return NULL;
  }
  s[n] = '\0';
  if (len)
    *len = n;
  return s;
}

json_t *json_bytes(const char *data, size_t len) {
  json_t *s = json_stringn(data ? data : "", data ? len : 0);
  if (s)
    return s;
  size_t n;
  char *fixed = utf8_repair(data, len, &n);
  if (!fixed)
    return NULL;
  s = json_stringn_nocheck(fixed, n);
  free(fixed);
  return s;
}

json_t *json_from_buf(struct buf *b) {
  size_t len;
  char *s = buf_take(b, &len);
  if (!s)
    return NULL;
  json_t *v = json_bytes(s, len);
  free(s);
  return v;
}

int jset(json_t *obj, const char *key, json_t *v) {
  if (!v)
    return -1;
  return json_object_set_new(obj, key, v);
}

const char *jstr(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}
