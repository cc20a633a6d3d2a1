/* An answer being prepared by a handler, before it becomes an MHD response.
 * Handlers fill it; server.c turns it into bytes on the wire (possibly later,
 * for injected slow answers). */
#ifndef EMU_REPLY_H
#define EMU_REPLY_H

#include <jansson.h>
#include <stddef.h>

#define REPLY_MAX_HEADERS 8

struct reply {
    int status;
    char *body; /* malloc'd, owned by the reply */
    size_t len;
    const char *ctype; /* static string, NULL for no Content-Type */
    int nhdr;
    struct {
        char name[48];
        char value[80];
    } hdr[REPLY_MAX_HEADERS];
};

void reply_init(struct reply *r);
void reply_free(struct reply *r);
/* Serializes obj (the reference is stolen) as the body, application/json. */
void reply_json(struct reply *r, int status, json_t *obj);
/* {"message": ...} with the given status. */
void reply_message(struct reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Takes ownership of body (may be NULL when len is 0). */
void reply_raw(struct reply *r, int status, const char *ctype, char *body, size_t len);
void reply_empty(struct reply *r, int status);
void reply_header(struct reply *r, const char *name, const char *value);

#endif
