/* Debian's redis-server for a test: on a free loopback port, in a folder
 * of its own, nothing saved (--save '' --appendonly no) unless asked to
 * persist (an append-only file fsynced on every write, so a SIGKILL loses
 * no acknowledged write). Stopped, paused (SIGSTOP) and restarted on the
 * same port and folder by the tests.
 *
 * tls set: TLS only (--port 0 --tls-port), with certificates tls_certs.sh
 * makes in the folder (PP_TLS_CERTS names the script) -- the server shows
 * cert (NULL: "server"), and with tls = RSRV_TLS_CLIENTS it requires a
 * client certificate signed by ca. url is then rediss://. */
#ifndef PP_TEST_REDIS_SERVER_H
#define PP_TEST_REDIS_SERVER_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { RSRV_PLAIN = 0, RSRV_TLS = 1, RSRV_TLS_CLIENTS = 2 };

typedef struct rsrv {
    pid_t pid;
    int port;
    int persist;
    int tls;
    int cluster; /* --cluster-enabled yes, its nodes.conf in the folder */
    const char *cert;
    char dir[64];
    char url[96];
} rsrv;

/* A certificate file of s's folder: rsrv_file(s, "ca.crt"). */
static inline const char *rsrv_file(const rsrv *s, const char *name)
{
    static char path[8][160];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", s->dir, name);
    return p;
}

static inline void rsrv_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline int rsrv_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* 1 when nothing listens on the loopback port. */
static inline int rsrv_port_free(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

/* 1 when the server answers PING (redis-cli, for TLS). */
static inline int rsrv_pings_tls(const rsrv *s)
{
    char cmd[768];
    snprintf(cmd, sizeof cmd,
             "redis-cli --tls --insecure --cert '%s/client.crt' --key '%s/client.key' -h 127.0.0.1 "
             "-p %d PING 2>/dev/null | grep -q PONG",
             s->dir, s->dir, s->port);
    return system(cmd) == 0;
}

/* 1 when the server answers PING. */
static inline int rsrv_pings(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {0, 200000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64] = {0};
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0 && write(s, "PING\r\n", 6) == 6 &&
             read(s, buf, sizeof buf - 1) > 0 && !strncmp(buf, "+PONG", 5);
    close(s);
    return ok;
}

/* Starts (or restarts, on the same port and folder) the server. 0 / -1. */
static inline int rsrv_start(rsrv *s)
{
    if (!s->dir[0]) {
        snprintf(s->dir, sizeof s->dir, "/tmp/pp-redis-test-XXXXXX");
        if (!mkdtemp(s->dir))
            return -1;
    }
    if (!s->port)
        s->port = rsrv_free_port();
    if (s->port <= 0)
        return -1;
    snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%d", s->tls ? "rediss" : "redis", s->port);
    char port[16], log[128], certs[160], tls[1024] = "";
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(log, sizeof log, "%s/redis.log", s->dir);
#ifdef PP_TLS_CERTS
    snprintf(certs, sizeof certs, "%s/ca.crt", s->dir);
    if (s->tls && access(certs, R_OK) != 0) {
        snprintf(certs, sizeof certs, "sh '%s' '%s'", PP_TLS_CERTS, s->dir);
        if (system(certs) != 0)
            return -1;
    }
    const char *cert = s->cert ? s->cert : "server";
    if (s->tls)
        snprintf(tls, sizeof tls,
                 " --port 0 --tls-port %d --tls-cert-file '%s/%s.crt' --tls-key-file '%s/%s.key'"
                 " --tls-ca-cert-file '%s/ca.crt' --tls-auth-clients %s",
                 s->port, s->dir, cert, s->dir, cert, s->dir,
                 s->tls == RSRV_TLS_CLIENTS ? "yes" : "no");
#else
    (void)certs;
    if (s->tls)
        return -1;
#endif
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char nodes[128];
        snprintf(nodes, sizeof nodes, "%s/nodes.conf", s->dir);
        if (!s->tls && s->cluster)
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save",
                   "", "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file",
                   nodes, "--dir", s->dir, "--daemonize", "no", (char *)NULL);
        else if (!s->tls)
            execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save",
                   "", "--appendonly", s->persist ? "yes" : "no", "--appendfsync", "always",
                   "--dir", s->dir, "--daemonize", "no", (char *)NULL);
        else { /* through a shell: the TLS options are quoted above */
            char cmd[1400];
            snprintf(cmd, sizeof cmd,
                     "exec redis-server --bind 127.0.0.1 --save '' --appendonly %s"
                     " --appendfsync always --dir '%s' --daemonize no%s",
                     s->persist ? "yes" : "no", s->dir, tls);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        }
        _exit(127);
    }
    s->pid = pid;
    for (int i = 0; i < 100; i++) {
        if (s->tls ? rsrv_pings_tls(s) : rsrv_pings(s->port))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "redis-server exited (%d): is it installed? (make deps)\n",
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            s->pid = 0;
            return -1;
        }
        rsrv_sleep_ms(50);
    }
    return -1;
}

static inline void rsrv_signal(rsrv *s, int sig)
{
    if (s->pid > 0)
        kill(s->pid, sig);
}

/* Stops it with sig (SIGTERM, SIGKILL) and reaps it. */
static inline void rsrv_stop(rsrv *s, int sig)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGCONT);
    kill(s->pid, sig);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

/* Stops it and removes its folder. */
static inline void rsrv_cleanup(rsrv *s)
{
    rsrv_stop(s, SIGKILL);
    if (s->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", s->dir);
    }
}

/* Three masters of one cluster, every slot assigned (redis-cli --cluster
 * create), cluster_state:ok on each. 0 / -1. */
#define RSRV_CLUSTER_NODES 3
static inline int rsrv_cluster_start(rsrv *nodes)
{
    char cmd[512];
    int at = snprintf(cmd, sizeof cmd, "redis-cli --cluster create");
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    for (int i = 0; i < RSRV_CLUSTER_NODES; i++) {
        nodes[i].cluster = 1;
        /* a node also listens on port + 10000 (the cluster bus) */
        for (int t = 0; t < 1000 && !nodes[i].port; t++) {
            int p = 20000 + (int)((unsigned)rand() % 30000u);
            if (rsrv_port_free(p) && rsrv_port_free(p + 10000))
                nodes[i].port = p;
        }
        if (rsrv_start(&nodes[i]) < 0)
            return -1;
        at += snprintf(cmd + at, sizeof cmd - (size_t)at, " 127.0.0.1:%d", nodes[i].port);
    }
    snprintf(cmd + at, sizeof cmd - (size_t)at, " --cluster-yes >/dev/null 2>&1");
    if (system(cmd) != 0)
        return -1;
    for (int i = 0; i < RSRV_CLUSTER_NODES; i++) {
        int ok = 0;
        for (int t = 0; t < 200 && !ok; t++) {
            snprintf(cmd, sizeof cmd,
                     "redis-cli -p %d CLUSTER INFO 2>/dev/null | grep -q cluster_state:ok",
                     nodes[i].port);
            ok = system(cmd) == 0;
            if (!ok)
                rsrv_sleep_ms(50);
        }
        if (!ok)
            return -1;
    }
    return 0;
}

#endif
