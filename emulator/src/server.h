/* The HTTP face: libmicrohttpd with its own thread pool (epoll), request
 * bodies, auth, routing, fault injection and turning replies into
 * responses. The handlers live in api_*.c. */
#ifndef EMU_SERVER_H
#define EMU_SERVER_H

#include <microhttpd.h>
#include <stddef.h>

#include "reply.h"

#define MAX_SEGS 8

struct request {
    struct MHD_Connection *conn;
    const char *method;         /* "HEAD" arrives as "GET" */
    const char *segs[MAX_SEGS]; /* path split on '/', empty parts skipped */
    int nsegs;
    const char *body;
    size_t body_len;
    int user;         /* index into g_cfg.users, -1 for admin paths */
    const char *host; /* for _links: the Host header, or our address */
};

/* A query-string argument, NULL when absent. */
const char *request_arg(const struct request *r, const char *name);

/* Starts listening (g_cfg.actual_port is set). Returns 0 on success. */
int server_start(void);
void server_stop(void);

#endif
