/*
 * The byte stream under the Redis connection (layer 2, beside redis.h):
 * a non-blocking TCP socket (redis_io.c) read and written plain or
 * through TLS (redis_tls.c, OpenSSL). Nothing here blocks: a call that
 * cannot go on says so and names in io->want whether it waits for the
 * fd to be readable or writable, and the connection asks the host for
 * that. Not installed.
 */
#ifndef PP_REDIS_IO_H
#define PP_REDIS_IO_H

#include "base.h"

#include <sys/types.h>

typedef struct pp_rio pp_rio;

/* One implementation. Each call: > 0 done (bytes moved; 1 for a
 * handshake), 0 would block (io->want set), -1 failed or closed (io->err
 * says why, io->refused whether certificates were the cause). */
typedef struct pp_rio_ops {
    int (*handshake)(pp_rio *io);
    ssize_t (*read)(pp_rio *io, char *buf, size_t n);
    ssize_t (*write)(pp_rio *io, const char *buf, size_t n);
    void (*close)(pp_rio *io); /* the layer's state; the fd is closed after */
} pp_rio_ops;

struct pp_rio {
    const pp_rio_ops *ops;
    int fd; /* -1: none */
    int want;
    int refused;
    void *session; /* the TLS layer's */
    char err[256];
};

/* Starts a non-blocking connect to a numeric address; the socket reads
 * and writes plain until pp_tls_start. 0 (io->fd set: the connect ends
 * when it is writable, pp_rio_connected), or -1 (io->err). */
int pp_rio_connect(pp_rio *io, const char *addr, int port);
/* After the fd became writable: 1 connected, 0 not yet, -1 failed. */
int pp_rio_connected(pp_rio *io);
/* Ends the layer and closes the fd (io->fd becomes -1). */
void pp_rio_close(pp_rio *io);

/* ---- redis_tls.c: what every connection of one pp_redis shares (the
 * CA store, the client certificate), loaded once when it is made. */
typedef struct pp_tls pp_tls;

/* NULL with the reason in msg (a file missing or unreadable, a key that
 * is not the certificate's, a certificate without its key). */
pp_tls *pp_tls_new(const pp_tls_config *cfg, char *msg, size_t msglen);
void pp_tls_free(pp_tls *t);
/* Puts TLS over io's connected socket, checking the server's certificate
 * against host (a name, for SNI too, or an address) unless insecure. The
 * handshake is then io->ops->handshake. 0, or -1 (io->err). */
int pp_tls_start(const pp_tls *t, pp_rio *io, const char *host);

#endif
