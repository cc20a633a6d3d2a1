/* libmicrohttpd answers: a response from a malloc'd body, headers that
 * chain, and the JSON and {"message": ...} answers the servers send.
 *
 * Every function that gets a response it cannot build returns NULL or
 * MHD_NO, and MHD then closes the connection: that is the only answer left
 * when memory runs out. They can be nested without checks in between:
 *   return pc_mhd_queue(c, 405, pc_mhd_header(pc_mhd_response(NULL, NULL, 0), "Allow", "POST"));
 */
#ifndef PC_MHD_H
#define PC_MHD_H

#include "pc_buf.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result pc_mhd_result;
#else
typedef int pc_mhd_result;
#endif

/* A response owning body (malloc'd; NULL for an empty one), with the
 * Content-Type ctype unless it is NULL. NULL when out of memory (body is
 * freed then). */
struct MHD_Response *pc_mhd_response(const char *ctype, char *body, size_t len);
/* The same with a copy of text. */
struct MHD_Response *pc_mhd_response_text(const char *ctype, const char *text);
/* Adds a header to r and returns it; destroys r and returns NULL when that
 * fails, and passes a NULL r through. */
struct MHD_Response *pc_mhd_header(struct MHD_Response *r, const char *name, const char *value);
/* Queues r with status and destroys it; MHD_NO for a NULL r. */
pc_mhd_result pc_mhd_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);

/* pc_mhd_queue(pc_mhd_response(...)): body is malloc'd and handed over. */
pc_mhd_result pc_mhd_send(struct MHD_Connection *c, unsigned status, const char *ctype, char *body,
                          size_t len);
/* Sends what b holds and empties it (MHD_NO if an append to it failed). */
pc_mhd_result pc_mhd_send_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                              pc_buf *b);
/* Sends a copy of text. */
pc_mhd_result pc_mhd_send_text(struct MHD_Connection *c, unsigned status, const char *ctype,
                               const char *text);
/* A JSON answer: v (the reference is stolen) as compact text. */
pc_mhd_result pc_mhd_send_json(struct MHD_Connection *c, unsigned status, json_t *v);
/* An error answer, {"message": "..."}, as JSON. */
pc_mhd_result pc_mhd_send_message(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    PC_PRINTF(3, 4);

#endif
