/* TLS for the Redis connection (rediss://), with OpenSSL 3, which needs
 * no global set-up: each pp_redis has its own SSL_CTX (what it trusts,
 * what it shows), each connection its SSL. The handshake and every read
 * and write are non-blocking: OpenSSL's WANT_READ / WANT_WRITE become
 * the fd interest the host is asked for.
 *
 * The server's certificate is verified against the system's CA store (or
 * ca_file) and the URL's host: SNI and the name check for a name, the
 * address check for an address. The socket is read and written through a
 * BIO of our own so that a write to a server that went away is EPIPE,
 * not a SIGPIPE (OpenSSL's socket BIO uses write(2)). */
#include "redis_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct pp_tls {
    SSL_CTX *ctx;
    BIO_METHOD *bio;
};

/* One connection's TLS (io->session). */
typedef struct session {
    SSL *ssl;
    int cert_asked; /* the server asked for a client certificate */
    int heard;      /* it has sent data since the handshake */
} session;

/* ---- the socket BIO: send/recv with MSG_NOSIGNAL, on io->fd */

static int bio_write(BIO *b, const char *buf, int n)
{
    const pp_rio *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t put;
    do
        put = send(io->fd, buf, (size_t)n, MSG_NOSIGNAL);
    while (put < 0 && errno == EINTR);
    if (put < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)put;
}

static int bio_read(BIO *b, char *buf, int n)
{
    const pp_rio *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t got;
    do
        got = recv(io->fd, buf, (size_t)n, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return (int)got;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH; /* nothing is buffered here */
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ---- errors */

/* OpenSSL's reason for the last failure, and the queue emptied. */
static const char *ssl_reason(unsigned long *code)
{
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    if (code)
        *code = e;
    ERR_clear_error();
    return why ? why : "unknown error";
}

/* Called by OpenSSL when the server sends a CertificateRequest. */
static int on_cert_request(SSL *ssl, void *arg)
{
    (void)ssl;
    ((session *)arg)->cert_asked = 1;
    return 1; /* go on with the certificate set, if any */
}

/* The connection closed or reset. With TLS 1.3 the server judges a
 * client certificate after the handshake, and its alert may be lost to
 * the reset that follows: a server that asked for one and closes before
 * it said anything has refused it. */
static int closed(pp_rio *io, const char *detail)
{
    const session *s = io->session;
    if (!s->cert_asked || s->heard) {
        snprintf(io->err, sizeof io->err, "%s", detail);
        return -1;
    }
    io->refused = 1;
    snprintf(io->err, sizeof io->err,
             SSL_get_certificate(s->ssl)
                 ? "TLS: the server refused this client's certificate (it asked for one, then "
                   "closed the connection: %s)"
                 : "TLS: the server requires a client certificate (it asked for one, then closed "
                   "the connection: %s)",
             detail);
    return -1;
}

/* A failed SSL call: 0 when it only waits for the fd (io->want), -1 with
 * io->err otherwise. */
static int failed(pp_rio *io, int rc)
{
    SSL *ssl = ((session *)io->session)->ssl;
    int e = SSL_get_error(ssl, rc);
    unsigned long code = 0;
    const char *why;
    switch (e) {
    case SSL_ERROR_WANT_READ: io->want = PP_WANT_READ; return 0;
    case SSL_ERROR_WANT_WRITE: io->want = PP_WANT_WRITE; return 0;
    case SSL_ERROR_ZERO_RETURN: return closed(io, "the server closed the TLS session");
    case SSL_ERROR_SYSCALL:
        why = errno ? strerror(errno) : "the server closed the connection";
        ERR_clear_error();
        return closed(io, why);
    default: break;
    }
    long verify = SSL_get_verify_result(ssl);
    why = ssl_reason(&code);
    if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return closed(io, "the server closed the connection");
    /* the peer was reached and TLS itself failed: settings, not luck */
    io->refused = 1;
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && verify != X509_V_OK)
        snprintf(io->err, sizeof io->err, "TLS: the server's certificate failed verification: %s",
                 X509_verify_cert_error_string(verify));
    else if (ERR_GET_REASON(code) == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
        snprintf(io->err, sizeof io->err, "TLS: the server requires a client certificate (%s)",
                 why);
    else if (ERR_GET_REASON(code) == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
             ERR_GET_REASON(code) == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
             ERR_GET_REASON(code) == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN)
        snprintf(io->err, sizeof io->err, "TLS: the server refused this client's certificate (%s)",
                 why);
    else
        snprintf(io->err, sizeof io->err, "TLS: %s", why);
    return -1;
}

/* ---- the TLS implementation of the stream */

static int tls_handshake(pp_rio *io)
{
    ERR_clear_error();
    int rc = SSL_connect(((session *)io->session)->ssl);
    return rc == 1 ? 1 : failed(io, rc);
}

static ssize_t tls_read(pp_rio *io, char *buf, size_t n)
{
    session *s = io->session;
    ERR_clear_error();
    int rc = SSL_read(s->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    if (rc <= 0)
        return failed(io, rc);
    s->heard = 1;
    return rc;
}

/* The connection retries a write that waited with its output from the
 * same place, perhaps moved and longer (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
 * allows both). */
static ssize_t tls_write(pp_rio *io, const char *buf, size_t n)
{
    ERR_clear_error();
    int rc = SSL_write(((session *)io->session)->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
    return rc > 0 ? rc : failed(io, rc);
}

static void tls_close(pp_rio *io)
{
    session *s = io->session;
    SSL_free(s->ssl); /* frees the BIO; the fd is closed by the caller */
    free(s);
    io->session = NULL;
}

static const pp_rio_ops tls_ops = {tls_handshake, tls_read, tls_write, tls_close};

/* ---- set-up */

static int refuse(char *msg, size_t msglen, const char *fmt, const char *a, const char *b)
{
    snprintf(msg, msglen, fmt, a, b);
    return -1;
}

/* A file given must be there and readable: said plainly, before OpenSSL
 * says it its way. */
static int readable(const char *what, const char *path, char *msg, size_t msglen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        char what_path[160];
        snprintf(what_path, sizeof what_path, "%s %s", what, path);
        return refuse(msg, msglen, "redis: TLS: cannot read the %s: %s", what_path,
                      strerror(errno));
    }
    fclose(f);
    return 0;
}

/* An encrypted key would otherwise make OpenSSL ask on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *ud)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)ud;
    return 0;
}

static int load(pp_tls *t, const pp_tls_config *cfg, char *msg, size_t msglen)
{
    SSL_CTX *ctx = t->ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    SSL_CTX_set_verify(ctx, cfg->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (cfg->ca_file) {
        if (readable("CA file", cfg->ca_file, msg, msglen) < 0)
            return -1;
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1)
            return refuse(msg, msglen, "redis: TLS: the CA file %s holds no certificate (%s)",
                          cfg->ca_file, ssl_reason(NULL));
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        return refuse(msg, msglen, "redis: TLS: no system CA store%s (%s)", "", ssl_reason(NULL));
    }
    if (!cfg->cert_file)
        return 0;
    if (readable("certificate", cfg->cert_file, msg, msglen) < 0 ||
        readable("key", cfg->key_file, msg, msglen) < 0)
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
        return refuse(msg, msglen, "redis: TLS: the certificate %s cannot be used (%s)",
                      cfg->cert_file, ssl_reason(NULL));
    unsigned long code = 0;
    const char *why = NULL;
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1)
        why = ssl_reason(&code);
    else if (SSL_CTX_check_private_key(ctx) != 1)
        why = ssl_reason(&code);
    if (!why)
        return 0;
    if (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH ||
        ERR_GET_REASON(code) == SSL_R_PRIVATE_KEY_MISMATCH)
        return refuse(msg, msglen, "redis: TLS: the key %s is not the certificate's (%s)",
                      cfg->key_file, why);
    return refuse(msg, msglen, "redis: TLS: the key %s cannot be used (%s)", cfg->key_file, why);
}

pp_tls *pp_tls_new(const pp_tls_config *cfg, char *msg, size_t msglen)
{
    static const pp_tls_config none;
    if (!cfg)
        cfg = &none;
    if (!cfg->cert_file != !cfg->key_file) {
        snprintf(msg, msglen,
                 "redis: TLS: a client certificate needs its key, and a key its "
                 "certificate (cert_file and key_file)");
        return NULL;
    }
    ERR_clear_error();
    pp_tls *t = calloc(1, sizeof *t);
    if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method())) ||
        !(t->bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pushpull redis"))) {
        snprintf(msg, msglen, "redis: TLS: cannot be set up (%s)", ssl_reason(NULL));
        pp_tls_free(t);
        return NULL;
    }
    BIO_meth_set_write(t->bio, bio_write);
    BIO_meth_set_read(t->bio, bio_read);
    BIO_meth_set_ctrl(t->bio, bio_ctrl);
    BIO_meth_set_create(t->bio, bio_create);
    if (load(t, cfg, msg, msglen) < 0) {
        pp_tls_free(t);
        return NULL;
    }
    return t;
}

void pp_tls_free(pp_tls *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    BIO_meth_free(t->bio);
    free(t);
}

int pp_tls_start(const pp_tls *t, pp_rio *io, const char *host)
{
    ERR_clear_error();
    session *s = calloc(1, sizeof *s);
    SSL *ssl = s ? SSL_new(t->ctx) : NULL;
    BIO *b = ssl ? BIO_new(t->bio) : NULL;
    if (!b) {
        snprintf(io->err, sizeof io->err, "TLS: cannot start (%s)",
                 s ? ssl_reason(NULL) : pp_oom_message);
        SSL_free(ssl);
        free(s);
        return -1;
    }
    BIO_set_data(b, io);
    SSL_set_bio(ssl, b, b);
    unsigned char addr[16];
    int is_addr = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    int ok = 1;
    if (!is_addr) /* SNI names a host, never an address (RFC 6066) */
        ok = SSL_set_tlsext_host_name(ssl, host) == 1;
    if (ok && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = is_addr ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) == 1 : SSL_set1_host(ssl, host) == 1;
    }
    if (!ok) {
        snprintf(io->err, sizeof io->err, "TLS: cannot name the server %s (%s)", host,
                 ssl_reason(NULL));
        SSL_free(ssl);
        free(s);
        return -1;
    }
    s->ssl = ssl;
    SSL_set_cert_cb(ssl, on_cert_request, s);
    SSL_set_connect_state(ssl);
    io->session = s;
    io->ops = &tls_ops;
    return 0;
}
