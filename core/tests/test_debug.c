/* Debug lines (pp_config.debug, PUSHPULL_DEBUG): each request with its
 * method, path, status and time; each retry with its delay and reason, and
 * giving up; each poll scheduled and why; each callback and what was done
 * with it -- and never a credential, not even one written into the base
 * URL. Off, nothing is reported. */
#include "offline.h"
#include "check.h"
#include "refusing.h"

#include <stdlib.h>

#define MAX_LINES 256

typedef struct lines {
    char *v[MAX_LINES];
    size_t n;
} lines;

static void collect(void *ud, const char *line)
{
    lines *l = ud;
    if (l->n < MAX_LINES)
        l->v[l->n++] = strdup(line);
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

/* The first line that begins with prefix and contains part (NULL: any). */
static const char *find(const lines *l, const char *prefix, const char *part)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && strncmp(l->v[i], prefix, strlen(prefix)) == 0 &&
            (!part || strstr(l->v[i], part)))
            return l->v[i];
    return NULL;
}

static int any_contains(const lines *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && strstr(l->v[i], s))
            return 1;
    return 0;
}

/* Through the real engine: a submission to a port where nothing listens is
 * tried again twice, each time said, then given up on. */
static void test_retries(void)
{
    int fd = -1;
    int port = refusing_port(&fd);
    CHECK(port > 0);
    char base[96];
    snprintf(base, sizeof base, "http://someone:url-secret@127.0.0.1:%d", port);
    lines l = {0};
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = base;
    cfg.username = "someone";
    cfg.password = "header-secret";
    cfg.max_retries = 2;
    cfg.retry_base_ms = 1;
    cfg.retry_max_ms = 5;
    cfg.debug = collect;
    cfg.debug_ud = &l;
    pp_client *c = pp_client_new(&cfg, NULL);
    CHECK(c != NULL);
    const char *job = "{\"source\":\"universal\",\"url\":\"https://example.com\"}";
    pp_op op = pp_submit(c, job, strlen(job), NULL, NULL);
    uint64_t end = pp_now_ms() + 10000;
    while (op && !pp_op_done(c, op) && pp_now_ms() < end)
        pp_wait(c, 20, NULL);
    CHECK(find(&l, "request POST /v1/queries -> no answer in ", " ms: "));
    CHECK(find(&l, "retry 1 of 2: POST /v1/queries in ", " ms ("));
    CHECK(find(&l, "retry 2 of 2: POST /v1/queries in ", " ms ("));
    CHECK(find(&l, "gave up: POST /v1/queries after 2 retries (", NULL));
    CHECK(!any_contains(&l, "secret"));
    CHECK(!any_contains(&l, "someone"));
    pp_client_free(c);
    lines_free(&l);
    close(fd);
}

/* Offline: the schedule's decisions and what each callback led to. */
static void test_schedule_and_callbacks(void)
{
    lines l = {0};
    pp_config cfg;
    offline_config(&cfg);
    cfg.debug = collect;
    cfg.debug_ud = &l;
    pp_client *c = offline_new(&cfg);
    CHECK(c != NULL);
    pp_job first = submit_one(c, "701", NULL);
    CHECK(pp_job_state(c, first) == PP_PENDING);
    CHECK(find(&l, "poll job 701 in ", "asked early"));
    pp_job h = submit_one(c, "702", NULL);
    CHECK(pp_job_state(c, h) == PP_PENDING);
    CHECK(find(&l, "poll job 702 in ", ": planned (poll 1, job age "));

    const char *done = "{\"id\":\"702\",\"status\":\"done\"}";
    CHECK_EQ_LONG(pp_feed_callback(c, done, strlen(done)), 0);
    CHECK(find(&l, "callback for job 702 (says done): checking now (the results download)", NULL));
    CHECK_EQ_LONG(pp_feed_callback(c, done, strlen(done)), 0);
    CHECK(find(&l, "callback for job 702 (says done): ", "a poll is out") ||
          find(&l, "callback for job 702 (says done): ignored, checked ", NULL));
    const char *other = "{\"id\":\"999\",\"status\":\"done\"}";
    CHECK_EQ_LONG(pp_feed_callback(c, other, strlen(other)), 1);
    CHECK(find(&l, "callback for job 999: no job of this client, ignored", NULL));
    CHECK_EQ_LONG(pp_feed_callback(c, "[]", 2), -1);
    CHECK(find(&l, "callback refused: 2 bytes that are not a job object", NULL));

    const char *only = "10.9.9.9";
    CHECK(pp_listen_allow(c, &only, 1, NULL) == 0);
    const char *answer = NULL;
    CHECK_EQ_LONG(pp_callback_request(c, "10.1.1.1", "POST", 2, "{}", 2, 0, &answer), 403);
    CHECK(find(&l, "callback answered 403: ", "sender not allowed"));
    pp_client_free(c);
    lines_free(&l);
}

/* What PUSHPULL_DEBUG writes to stderr while a client submits one job. */
static char *stderr_of_client(const char *env)
{
    if (env)
        setenv("PUSHPULL_DEBUG", env, 1);
    else
        unsetenv("PUSHPULL_DEBUG");
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    if (!tmp || saved < 0 || dup2(fileno(tmp), 2) < 0)
        return NULL;
    pp_client *c = offline_client();
    (void)submit_one(c, "801", NULL);
    pp_client_free(c);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    unsetenv("PUSHPULL_DEBUG");
    long len = ftell(tmp);
    char *text = calloc(1, (size_t)(len > 0 ? len : 0) + 1);
    rewind(tmp);
    if (text && len > 0 && fread(text, 1, (size_t)len, tmp) != (size_t)len)
        text[0] = '\0';
    fclose(tmp);
    return text;
}

static void test_environment(void)
{
    char *on = stderr_of_client("1");
    CHECK(on && strstr(on, "pushpull: poll job 801 in "));
    free(on);
    const char *off[] = {NULL, "", "0"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        char *text = stderr_of_client(off[i]);
        CHECK(text && text[0] == '\0');
        free(text);
    }
}

int main(void)
{
    test_retries();
    test_schedule_and_callbacks();
    test_environment();
    DONE();
}
