/* Starts the emulator binary for a test: --port 0, the user user:pass1,
 * --job-time 0, then the extra arguments (a later flag wins), and reads
 * the port from its first line. */
#ifndef PP_TEST_EMU_H
#define PP_TEST_EMU_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct emu {
    pid_t pid;
    int port;
    char base[64];
} emu;

static int emu_spawn(emu *e, const char *path, const char *const *extra)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    const char *argv[32];
    int n = 0;
    argv[n++] = path;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--user";
    argv[n++] = "user:pass1";
    argv[n++] = "--job-time";
    argv[n++] = "0";
    for (; extra && *extra && n < 30; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    e->pid = pid;
    e->port = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "listening on http://127.0.0.1:");
        if (p) {
            e->port = atoi(p + strlen("listening on http://127.0.0.1:"));
            break;
        }
    }
    if (f)
        fclose(f); /* the emulator may write more; it gets SIGPIPE-safe EPIPE */
    if (!e->port) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return -1;
    }
    snprintf(e->base, sizeof e->base, "http://127.0.0.1:%d", e->port);
    return 0;
}

static void emu_stop(emu *e)
{
    kill(e->pid, SIGTERM);
    waitpid(e->pid, NULL, 0);
}

#endif
