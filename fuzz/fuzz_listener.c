/* The callback listener as a stranger on the network meets it: the input
 * is written raw, as an HTTP request, to a real listener (pp_listen on
 * 127.0.0.1, a free port) over a TCP connection that then half-closes.
 * The client is driven as an event-loop host drives it (pp_socket_action
 * on the listener's fd when it is ready, on the timer otherwise) until the
 * connection closed, nothing moves any more (libmicrohttpd keeps a
 * half-closed connection open until its timeout), or STEPS rounds passed.
 * Checked: no crash, leak or undefined behaviour anywhere on the way (the
 * HTTP parsing is libmicrohttpd's; the checks, the body cap, the callback
 * parsing and the state machine are the core's); an answer, when one
 * comes, begins with an HTTP/1.x status line.
 *
 * One client for the whole run, made on the first input: the jobs it knows
 * may move on from input to input, which is what a long-lived listener
 * sees too. */
#include "fuzz.h"
#include "pushpull.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Rounds of driving per input, how long one round waits for I/O, and how
 * many quiet rounds (all sent, no fd ready, no deadline due) end it. */
#define STEPS 200
#define STEP_MS 1
#define QUIET_ROUNDS 2

static pp_client *client;
static int listener_fd = -1;
static int port;

static void setup(void)
{
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    cfg.poll.fetch = 0; /* a callback saying done starts no download */
    client = pp_client_new(&cfg, NULL);
    REQUIRE(client != NULL);
    REQUIRE(pp_attach(client, "7173957294344910849", NULL) != 0);
    REQUIRE(pp_attach(client, "12345678900987654321", NULL) != 0);
    pp_listen_config lc;
    pp_listen_config_init(&lc);
    lc.port = 0;
    lc.max_body = 2048; /* small enough for inputs to cross it */
    pp_error err;
    REQUIRE(pp_listen(client, &lc, &err) == 0);
    port = pp_listen_port(client);
    pp_fd_change ch[8];
    size_t n = pp_take_fd_changes(client, ch, 8);
    for (size_t i = 0; i < n; i++)
        if (ch[i].events & PP_WANT_READ)
            listener_fd = ch[i].fd;
    REQUIRE(port > 0 && listener_fd >= 0);
}

static int connect_listener(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(s, (struct sockaddr *)&a, sizeof a);
    REQUIRE(rc == 0 || errno == EINPROGRESS);
    return s;
}

/* One round: the listener served if its fd is ready, the timer otherwise.
 * 1 when something was ready or due. */
static int drive(int sock, short sock_events)
{
    struct pollfd p[2] = {{listener_fd, POLLIN, 0}, {sock, sock_events, 0}};
    long t = pp_timeout_ms(client);
    int ms = t >= 0 && t < STEP_MS ? (int)t : STEP_MS;
    int ready = poll(p, sock >= 0 ? 2 : 1, ms) > 0;
    if (ready && (p[0].revents & POLLIN))
        pp_socket_action(client, listener_fd, PP_WANT_READ, NULL);
    else
        pp_socket_action(client, PP_SOCKET_TIMEOUT, 0, NULL);
    pp_fd_change ch[8];
    while (pp_take_fd_changes(client, ch, 8) == 8)
        ;
    pp_event ev[32];
    while (pp_take_events(client, ev, 32) == 32)
        ;
    return ready || ms == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!client)
        setup();
    int sock = connect_listener();
    size_t sent = 0;
    int closed_write = 0, eof = 0, quiet = 0;
    char answer[64];
    size_t got = 0;
    for (int step = 0; step < STEPS && !eof && quiet < QUIET_ROUNDS; step++) {
        if (sent < size) {
            ssize_t n = send(sock, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINPROGRESS &&
                     errno != ENOTCONN)
                sent = size; /* answered and closed before reading it all */
        }
        if (sent == size && !closed_write) {
            shutdown(sock, SHUT_WR);
            closed_write = 1;
        }
        int moved = drive(sock, (short)(POLLIN | (sent < size ? POLLOUT : 0)));
        quiet = closed_write && !moved ? quiet + 1 : 0;
        for (;;) {
            char buf[4096];
            ssize_t n = recv(sock, buf, sizeof buf, 0);
            if (n > 0) {
                size_t keep = sizeof answer - got < (size_t)n ? sizeof answer - got : (size_t)n;
                memcpy(answer + got, buf, keep);
                got += keep;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                eof = 1;
            break;
        }
    }
    /* a reset, not a FIN: libmicrohttpd would keep a connection whose peer
     * half-closed after a partial request until its timeout, and the
     * connection limit would fill up within a run */
    struct linger lg = {1, 0};
    setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(sock);
    if (got >= 12) {
        REQUIRE(!memcmp(answer, "HTTP/1.", 7));
        REQUIRE(answer[9] >= '1' && answer[9] <= '5');
    }
    /* the listener learns of the close now, not during the next input */
    drive(-1, 0);
    return 0;
}
