/* A loopback port that refuses every connection: bound, not listening (the
 * caller keeps fd open for the test's life so nobody else takes the port).
 * Returns the port, 0 on failure. */
#ifndef PP_TEST_REFUSING_H
#define PP_TEST_REFUSING_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static inline int refusing_port(int *fd)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(*fd, (struct sockaddr *)&a, &len) < 0)
        return 0;
    return ntohs(a.sin_port);
}

#endif
