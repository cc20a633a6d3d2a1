/* The Redis connection's socket: a non-blocking connect, and reads and
 * writes without TLS. send() with MSG_NOSIGNAL: a server gone mid-write
 * is an error to report, never a SIGPIPE that ends the host process. */
#include "redis_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void say_errno(pp_rio *io, const char *what)
{
    snprintf(io->err, sizeof io->err, "%s%s", what, strerror(errno));
}

static int plain_handshake(pp_rio *io)
{
    (void)io;
    return 1;
}

static ssize_t plain_read(pp_rio *io, char *buf, size_t n)
{
    for (;;) {
        ssize_t got = recv(io->fd, buf, n, 0);
        if (got > 0)
            return got;
        if (got == 0) {
            snprintf(io->err, sizeof io->err, "the server closed the connection");
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            io->want = PP_WANT_READ;
            return 0;
        }
        say_errno(io, "");
        return -1;
    }
}

static ssize_t plain_write(pp_rio *io, const char *buf, size_t n)
{
    for (;;) {
        ssize_t put = send(io->fd, buf, n, MSG_NOSIGNAL);
        if (put >= 0)
            return put;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            io->want = PP_WANT_WRITE;
            return 0;
        }
        say_errno(io, "");
        return -1;
    }
}

static void plain_close(pp_rio *io)
{
    (void)io;
}

static const pp_rio_ops plain_ops = {plain_handshake, plain_read, plain_write, plain_close};

int pp_rio_connect(pp_rio *io, const char *addr, int port)
{
    memset(io, 0, sizeof *io);
    io->fd = -1;
    io->ops = &plain_ops;
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        len = sizeof *a4;
    } else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        len = sizeof *a6;
    } else {
        snprintf(io->err, sizeof io->err, "not an address: %s", addr);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0) {
        say_errno(io, "socket: ");
        return -1;
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        say_errno(io, "fcntl: ");
        close(fd);
        return -1;
    }
    /* commands are small and pipelined: none waits for Nagle */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS)
            break;
        say_errno(io, "");
        close(fd);
        return -1;
    }
    io->fd = fd;
    io->want = PP_WANT_WRITE;
    return 0;
}

int pp_rio_connected(pp_rio *io)
{
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
        say_errno(io, "");
        return -1;
    }
    if (soerr == EINPROGRESS || soerr == EALREADY)
        return 0;
    if (soerr) {
        errno = soerr;
        say_errno(io, "");
        return -1;
    }
    /* a writable socket whose connect is still under way has no peer yet */
    struct sockaddr_storage peer;
    len = sizeof peer;
    if (getpeername(io->fd, (struct sockaddr *)&peer, &len) < 0)
        return errno == ENOTCONN ? 0 : (say_errno(io, ""), -1);
    return 1;
}

void pp_rio_close(pp_rio *io)
{
    if (io->ops)
        io->ops->close(io);
    if (io->fd >= 0)
        close(io->fd);
    io->fd = -1;
    io->session = NULL;
    io->ops = &plain_ops;
}
