#include "json_util.h"

#include "util.h"

#include <stdlib.h>

/* Compact output, no spaces, keys in insertion order. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static int to_buf(const char *data, size_t len, void *b) {
  buf_add(b, data, len);
  return ((struct buf *)b)->oom ? -1 : 0;
}

char *json_dump_alloc(const json_t *v, size_t *len) {
  /* One pass into a growing buffer: sizing first with json_dumpb would
   * escape every string twice, which is most of the cost for big pages. */
  struct buf b;
  buf_init(&b);
  if (json_dump_callback(v, to_buf, &b, DUMP_FLAGS) != 0) {
    buf_free(&b);
    return NULL;
  }
  return buf_take(&b, len);
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
