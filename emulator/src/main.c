/* pushpull-emulator: command line, start-up and shutdown. */
#include "config.h"
#include "faults.h"
#include "jobs.h"
#include "runner.h"
#include "schedules.h"
#include "server.h"
#include "util.h"
#include "values.h"
#include "worker.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct emu_config g_cfg;

static const char usage[] =
    "usage: pushpull-emulator [options]\n"
    "\n"
    "A local emulator of the Push-Pull scraping job API (see doc/API.md of\n"
    "the pushpull sources; doc/emulator.md there documents these flags).\n"
    "Prints one line, \"listening on http://ADDR:PORT\", once it accepts requests.\n"
    "\n"
    "  --port N              port to listen on; 0 picks a free one (default 8700)\n"
    "  --bind ADDR           numeric address to bind (default 127.0.0.1)\n"
    "  --user NAME:PASS      an account (repeatable; default user:pass1)\n"
    "  --job-time SPEC       how long a job takes: 0, 2s, 150ms, uniform:1s:5s,\n"
    "                        lognormal:MEDIAN:SIGMA (e.g. lognormal:3s:0.6); default 0\n"
    "  --fault-rate F        share of jobs that end faulted (0..1, default 0)\n"
    "  --inject LIST         share of API answers replaced by faults, comma list of\n"
    "                        429=F, 500=F, drop=F (request processed, connection closed\n"
    "                        without answer), slow=F:DURATION (answer delayed),\n"
    "                        ambiguous=F[:OUTCOMES] (submissions only: the jobs are\n"
    "                        created and run, then the answer is a 500, a 524 or a\n"
    "                        dropped connection, picked at random among OUTCOMES,\n"
    "                        e.g. 500+524+drop, the default), dup-id=F (batch\n"
    "                        submissions only: every job in the answer shows the\n"
    "                        first job's id) and callback-loss=F (share of callbacks\n"
    "                        never sent). One draw per request: the shares of all\n"
    "                        but callback-loss add up to at most 1\n"
    "  --rate-limit N        jobs per second per user (default 0 = unlimited; the\n"
    "                        x-ratelimit-jobs-* headers are sent anyway)\n"
    "  --retention SECONDS   a finished job is deleted this long after it ended\n"
    "                        (default 86400)\n"
    "  --storage-dir DIR     where storage uploads are written\n"
    "                        (default $TMPDIR or /tmp, + /pushpull-emulator-storage)\n"
    "  --callbacker-ip IP    address listed by /v1/info/callbacker_ips (repeatable;\n"
    "                        default the address callbacks come from)\n"
    "  --workers N           HTTP server threads (default 2)\n"
    "  --seed N              seed for every random draw and the job ids\n"
    "                        (default: different on every run)\n"
    "  --max-body BYTES      largest accepted request body (default 16777216)\n"
    "  --help                this text\n"
    "\n"
    "Admin endpoints (no auth): GET /_emulator/stats, POST /_emulator/reset,\n"
    "POST /_emulator/schedules/ID/tick, GET /_emulator/jobs/ID, and\n"
    "GET /_emulator/values: jobs created per submitted value,\n"
    "{\"url\": {VALUE: JOBS}, \"query\": {VALUE: JOBS}, \"created_twice\": N,\n"
    "\"truncated\": false} (schedule runs not counted).\n";

static int bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "pushpull-emulator: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see --help)\n");
    return -1;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_share(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

static int parse_job_time(const char *s, struct jobtime *t)
{
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *a = strchr(buf, ':');
    if (!a) {
        t->kind = JOBTIME_FIXED;
        return parse_duration(buf, &t->a);
    }
    *a++ = '\0';
    char *b = strchr(a, ':');
    if (!b)
        return -1;
    *b++ = '\0';
    if (strcmp(buf, "uniform") == 0) {
        t->kind = JOBTIME_UNIFORM;
        return parse_duration(a, &t->a) || parse_duration(b, &t->b) || t->b < t->a ? -1 : 0;
    }
    if (strcmp(buf, "lognormal") == 0) {
        char *end;
        t->kind = JOBTIME_LOGNORMAL;
        if (parse_duration(a, &t->a) != 0)
            return -1;
        t->b = strtod(b, &end);
        return end == b || *end || !(t->b >= 0 && t->b < 10) ? -1 : 0;
    }
    return -1;
}

static int add_user(const char *spec)
{
    const char *colon = strchr(spec, ':');
    if (!colon || colon == spec)
        return bad("--user needs NAME:PASS, got '%s'", spec);
    if (g_cfg.nusers == EMU_MAX_USERS)
        return bad("at most %s users", "64");
    struct emu_user *u = &g_cfg.users[g_cfg.nusers];
    u->name = strndup(spec, (size_t)(colon - spec));
    u->pass = strdup(colon + 1);
    u->client_id = g_cfg.nusers + 1;
    size_t n;
    char *b64 = base64_encode((const unsigned char *)spec, strlen(spec), &n);
    u->auth_header = b64 ? malloc(n + 7) : NULL;
    if (u->auth_header)
        snprintf(u->auth_header, n + 7, "Basic %s", b64);
    free(b64);
    if (!u->name || !u->pass || !u->auth_header)
        return bad("%s", "out of memory");
    g_cfg.nusers++;
    return 0;
}

static void free_users(void)
{
    for (int i = 0; i < g_cfg.nusers; i++) {
        free(g_cfg.users[i].name);
        free(g_cfg.users[i].pass);
        free(g_cfg.users[i].auth_header);
    }
    g_cfg.nusers = 0;
}

/* Accepts "--flag value" and "--flag=value". */
static int parse_args(int argc, char **argv)
{
    int users_given = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i], *val = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(arg, "--", 2) != 0)
            return bad("unexpected argument '%s'", arg);
        char name[32];
        char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name)
            return bad("unknown option '%s'", arg);
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        static const char *const known[] = {"--port",        "--bind",
                                            "--user",        "--job-time",
                                            "--fault-rate",  "--inject",
                                            "--rate-limit",  "--retention",
                                            "--storage-dir", "--callbacker-ip",
                                            "--workers",     "--seed",
                                            "--max-body",    NULL};
        int ok = 0;
        for (int k = 0; known[k]; k++)
            ok |= strcmp(name, known[k]) == 0;
        if (!ok)
            return bad("unknown option '%s'", name);
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return bad("%s needs a value", name);

        long n;
        if (strcmp(name, "--port") == 0) {
            if (parse_long(val, 0, 65535, &n))
                return bad("--port needs 0..65535, got '%s'", val);
            g_cfg.port = (int)n;
        } else if (strcmp(name, "--bind") == 0) {
            unsigned char addr[16];
            if (inet_pton(AF_INET, val, addr) != 1 && inet_pton(AF_INET6, val, addr) != 1)
                return bad("--bind needs a numeric IPv4 or IPv6 address, got '%s'", val);
            g_cfg.bind = val;
        } else if (strcmp(name, "--user") == 0) {
            if (!users_given) {
                free_users(); /* the first --user replaces the default account */
                users_given = 1;
            }
            if (add_user(val))
                return -1;
        } else if (strcmp(name, "--job-time") == 0) {
            if (parse_job_time(val, &g_cfg.job_time))
                return bad(
                    "--job-time: cannot read '%s' (0, 2s, 150ms, uniform:1s:5s, lognormal:3s:0.6)",
                    val);
        } else if (strcmp(name, "--fault-rate") == 0) {
            if (parse_share(val, &g_cfg.fault_rate))
                return bad("--fault-rate needs a share between 0 and 1, got '%s'", val);
        } else if (strcmp(name, "--inject") == 0) {
            char err[256];
            if (faults_parse(val, err, sizeof err))
                return bad("%s", err);
        } else if (strcmp(name, "--rate-limit") == 0) {
            if (parse_long(val, 0, 100000000, &n))
                return bad("--rate-limit needs a non-negative integer, got '%s'", val);
            g_cfg.rate_limit = (int)n;
        } else if (strcmp(name, "--retention") == 0) {
            char *end;
            g_cfg.retention = strtod(val, &end);
            if (end == val || *end || !(g_cfg.retention >= 0) || !isfinite(g_cfg.retention))
                return bad("--retention needs seconds, got '%s'", val);
        } else if (strcmp(name, "--storage-dir") == 0) {
            g_cfg.storage_dir = val;
        } else if (strcmp(name, "--callbacker-ip") == 0) {
            unsigned char addr[16];
            if (inet_pton(AF_INET, val, addr) != 1 && inet_pton(AF_INET6, val, addr) != 1)
                return bad("--callbacker-ip needs a numeric IP address, got '%s'", val);
            if (g_cfg.ncallbacker_ips == EMU_MAX_CALLBACKER_IPS)
                return bad("at most %s --callbacker-ip", "16");
            g_cfg.callbacker_ips[g_cfg.ncallbacker_ips++] = val;
        } else if (strcmp(name, "--workers") == 0) {
            if (parse_long(val, 1, 256, &n))
                return bad("--workers needs 1..256, got '%s'", val);
            g_cfg.workers = (int)n;
        } else if (strcmp(name, "--seed") == 0) {
            char *end;
            errno = 0;
            g_cfg.seed = strtoull(val, &end, 10);
            if (end == val || *end || errno)
                return bad("--seed needs a non-negative integer, got '%s'", val);
            g_cfg.seed_given = 1;
        } else if (strcmp(name, "--max-body") == 0) {
            if (parse_long(val, 1, 1L << 40, &n))
                return bad("--max-body needs a positive number of bytes, got '%s'", val);
            g_cfg.max_body = (size_t)n;
        }
    }
    return 0;
}

static char default_storage[4096];

static void set_defaults(void)
{
    g_cfg.port = 8700;
    g_cfg.bind = "127.0.0.1";
    g_cfg.job_time.kind = JOBTIME_FIXED;
    g_cfg.retention = 86400;
    g_cfg.workers = 2;
    g_cfg.seed = 1;
    g_cfg.max_body = 16u * 1024u * 1024u;
    const char *tmp = getenv("TMPDIR");
    snprintf(default_storage, sizeof default_storage, "%s/pushpull-emulator-storage",
             tmp && *tmp ? tmp : "/tmp");
    g_cfg.storage_dir = default_storage;
}

int main(int argc, char **argv)
{
    set_defaults();
    if (add_user("user:pass1") != 0 || parse_args(argc, argv) != 0) {
        free_users();
        return 2;
    }
    if (g_cfg.ncallbacker_ips == 0) {
        /* Callbacks leave from our own address; on a wildcard bind that is the
         * loopback address as far as local receivers can tell. */
        int wildcard = strcmp(g_cfg.bind, "0.0.0.0") == 0 || strcmp(g_cfg.bind, "::") == 0;
        g_cfg.callbacker_ips[g_cfg.ncallbacker_ips++] = wildcard ? "127.0.0.1" : g_cfg.bind;
    }
    if (mkdir(g_cfg.storage_dir, 0755) != 0 && errno != EEXIST)
        fprintf(stderr, "pushpull-emulator: warning: cannot create %s: %s\n", g_cfg.storage_dir,
                strerror(errno));

    /* The signals are taken by sigwait below; every thread created from here
     * on inherits the mask, so none of them is interrupted by them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Without --seed every run differs (also its job ids, so that ids from an
     * earlier run are never answered by a later one). */
    if (!g_cfg.seed_given)
        g_cfg.seed = (uint64_t)(now_s() * 1e6) ^ ((uint64_t)getpid() << 32);
    rng_seed(g_cfg.seed);
    int rc = 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "pushpull-emulator: curl_global_init failed\n");
        goto out_users;
    }
    if (jobs_init(g_cfg.seed) != 0 || worker_start() != 0 || runner_start() != 0) {
        fprintf(stderr, "pushpull-emulator: cannot start (out of memory?)\n");
        goto out_worker;
    }
    if (server_start() != 0)
        goto out_worker;

    printf("listening on http://%s%s%s:%d\n", strchr(g_cfg.bind, ':') ? "[" : "", g_cfg.bind,
           strchr(g_cfg.bind, ':') ? "]" : "", g_cfg.actual_port);
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    rc = 0;

    /* The worker goes first: stopping it resumes any answer it was holding
     * back, and MHD must not stop with suspended connections. */
    worker_stop();
    server_stop();
out_worker:
    worker_stop();
    schedules_clear();
    jobs_shutdown();
    values_clear();
    curl_global_cleanup();
out_users:
    free_users();
    return rc;
}
