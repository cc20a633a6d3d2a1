/* The fleet store's operations: each is one EVALSHA of a script of
 * redis_scripts.c, its first (and only declared) key the tag's meta hash.
 * Everything a script is given is copied into the command when it is
 * issued, so the caller's strings need not outlive the call. */
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TAG 64
#define MAX_PREFIX 64
#define NUMS 6

/* The arguments of one script call. */
typedef struct args {
    const char **v;
    size_t *l;
    int n, cap;
    int oom;
    char key[MAX_PREFIX + MAX_TAG + 16]; /* the meta key */
    char nums[NUMS][24];
    int nnums;
} args;

static void add(args *a, const char *s, size_t len)
{
    if (a->oom)
        return;
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        const char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (v)
            a->v = v;
        size_t *l = v ? realloc(a->l, (size_t)cap * sizeof *l) : NULL;
        if (!l) {
            a->oom = 1;
            return;
        }
        a->l = l;
        a->cap = cap;
    }
    a->v[a->n] = s ? s : "";
    a->l[a->n] = s ? len : 0;
    a->n++;
}

static void add_str(args *a, const char *s)
{
    add(a, s, s ? strlen(s) : 0);
}

static void add_num(args *a, long v)
{
    if (a->nnums == NUMS) {
        a->oom = 1;
        return;
    }
    char *p = a->nums[a->nnums++];
    snprintf(p, sizeof a->nums[0], "%ld", v);
    add_str(a, p);
}

int pp_rstore_tag_valid(const char *tag)
{
    if (!tag)
        return 0;
    size_t n = strlen(tag);
    return n >= 1 && n <= MAX_TAG && !strpbrk(tag, "{}");
}

/* Starts the arguments with the tag's meta key; -1 for a bad tag. */
static int begin(const pp_rstore *s, args *a, const char *tag)
{
    memset(a, 0, sizeof *a);
    if (!s || !s->r || !pp_rstore_tag_valid(tag))
        return -1;
    snprintf(a->key, sizeof a->key, "%s:{%s}:meta", s->prefix, tag);
    add_str(a, a->key);
    return 0;
}

static int run(const pp_rstore *s, args *a, int script, int flags, pp_redis_done done, void *ud)
{
    int rc = a->oom ? -1 : pp_redis_script(s->r, script, flags, 1, a->n, a->v, a->l, done, ud);
    free(a->v);
    free(a->l);
    return rc;
}

int pp_rstore_init(pp_rstore *s, pp_redis *r, const char *prefix, const char *token, uint64_t *rng,
                   char *msg, size_t msglen)
{
    memset(s, 0, sizeof *s);
    if (!prefix)
        prefix = "pp";
    if (!*prefix || strlen(prefix) > MAX_PREFIX || strpbrk(prefix, "{}")) {
        snprintf(msg, msglen, "redis store: the prefix must be 1..%d bytes without '{' or '}'",
                 MAX_PREFIX);
        return -1;
    }
    if (token && (!*token || strlen(token) >= sizeof s->token)) {
        snprintf(msg, msglen, "redis store: the token must be 1..%zu bytes", sizeof s->token - 1);
        return -1;
    }
    s->prefix = pp_strdup(prefix);
    if (!s->prefix) {
        snprintf(msg, msglen, "%s", pp_oom_message);
        return -1;
    }
    s->r = r;
    if (token) {
        snprintf(s->token, sizeof s->token, "%s", token);
    } else {
        /* unique across the fleet: another process, or this one after a
         * restart, must not take this one's leases for its own */
        char host[64] = "host";
        (void)gethostname(host, sizeof host);
        host[sizeof host - 1] = 0;
        snprintf(s->token, sizeof s->token, "%.60s:%ld:%08llx", host, (long)getpid(),
                 (unsigned long long)(pp_rand(rng) & 0xffffffffull));
    }
    return 0;
}

void pp_rstore_cleanup(pp_rstore *s)
{
    if (!s)
        return;
    free(s->prefix);
    memset(s, 0, sizeof *s);
}

int pp_rstore_submit(pp_rstore *s, const char *tag, const char *sid, const char *params,
                     size_t params_len, long nvalues, const char *const *keys,
                     const char *const *values, size_t njobs, pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0 || !sid || !*sid || nvalues < 0 || (njobs && !keys) ||
        njobs > (size_t)nvalues)
        return -1;
    add_str(&a, sid);
    add(&a, params, params ? params_len : 0);
    add_num(&a, nvalues);
    add_str(&a, s->token);
    for (size_t i = 0; i < njobs; i++) {
        if (!keys[i] || !*keys[i]) {
            a.oom = 1; /* refused like a failed allocation: nothing is sent */
            break;
        }
        add_str(&a, keys[i]);
        add_str(&a, values ? values[i] : NULL);
    }
    return run(s, &a, PP_RS_SUBMIT, PP_REDIS_IDEMPOTENT, done, ud);
}

int pp_rstore_answer(pp_rstore *s, const char *tag, const char *sid, int lost, const pp_rjob *jobs,
                     size_t n, long poll_ms, long hold_ms, pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0 || !sid || !*sid || (n && !jobs))
        return -1;
    add_str(&a, sid);
    add_str(&a, lost ? "lost" : "answered");
    add_str(&a, s->token);
    add_num(&a, poll_ms > 0 ? poll_ms : 0);
    add_num(&a, hold_ms > 0 ? hold_ms : 0);
    for (size_t i = 0; !lost && i < n; i++) {
        if (!jobs[i].key || !*jobs[i].key || !jobs[i].to) {
            a.oom = 1; /* refused like a failed allocation: nothing is sent */
            break;
        }
        add_str(&a, jobs[i].key);
        add_str(&a, jobs[i].to);
        add_str(&a, jobs[i].id);
    }
    return run(s, &a, PP_RS_ANSWER, PP_REDIS_IDEMPOTENT, done, ud);
}

int pp_rstore_move(pp_rstore *s, const char *tag, const pp_rjob *jobs, size_t n, long poll_ms,
                   long hold_ms, pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0 || !jobs || !n)
        return -1;
    add_str(&a, s->token);
    add_num(&a, poll_ms > 0 ? poll_ms : 0);
    add_num(&a, hold_ms > 0 ? hold_ms : 0);
    add_num(&a, s->retention_ms > 0 ? s->retention_ms : 0);
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i].key || !*jobs[i].key || !jobs[i].to) {
            a.oom = 1;
            break;
        }
        add_str(&a, jobs[i].key);
        add_str(&a, jobs[i].to);
        add_str(&a, jobs[i].fields_json);
    }
    return run(s, &a, PP_RS_MOVE, PP_REDIS_IDEMPOTENT, done, ud);
}

/* A claim hands jobs out: it is never sent twice (a lost answer costs its
 * jobs one lease, then they are claimable again). */
static int take(pp_rstore *s, int script, const char *tag, long max, long lease_ms,
                pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0 || max < 0 || lease_ms <= 0)
        return -1;
    add_str(&a, s->token);
    add_num(&a, max);
    add_num(&a, lease_ms);
    return run(s, &a, script, 0, done, ud);
}

int pp_rstore_claim(pp_rstore *s, const char *tag, long max, long lease_ms, pp_redis_done done,
                    void *ud)
{
    return take(s, PP_RS_CLAIM, tag, max, lease_ms, done, ud);
}

int pp_rstore_poll(pp_rstore *s, const char *tag, long max, long lease_ms, pp_redis_done done,
                   void *ud)
{
    return take(s, PP_RS_POLL, tag, max, lease_ms, done, ud);
}

static int leases(pp_rstore *s, int script, const char *tag, int kind, const char *outcome, long ms,
                  const char *const *keys, size_t n, pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0 || !keys || !n || (kind != PP_LEASE_CLAIM && kind != PP_LEASE_POLL))
        return -1;
    add_str(&a, kind == PP_LEASE_POLL ? "poll" : "claim");
    add_str(&a, s->token);
    if (outcome)
        add_str(&a, outcome);
    else
        add_num(&a, ms > 0 ? ms : 0);
    if (script == PP_RS_RELEASE)
        add_num(&a, s->retention_ms > 0 ? s->retention_ms : 0);
    for (size_t i = 0; i < n; i++)
        add_str(&a, keys[i]);
    return run(s, &a, script, PP_REDIS_IDEMPOTENT, done, ud);
}

int pp_rstore_renew(pp_rstore *s, const char *tag, int kind, const char *const *keys, size_t n,
                    long lease_ms, pp_redis_done done, void *ud)
{
    if (lease_ms <= 0)
        return -1;
    return leases(s, PP_RS_RENEW, tag, kind, NULL, lease_ms, keys, n, done, ud);
}

int pp_rstore_release(pp_rstore *s, const char *tag, int kind, const char *const *keys, size_t n,
                      int handed, long delay_ms, pp_redis_done done, void *ud)
{
    const char *outcome = kind == PP_LEASE_POLL ? NULL : handed ? "handed" : "return";
    return leases(s, PP_RS_RELEASE, tag, kind, outcome, delay_ms, keys, n, done, ud);
}

int pp_rstore_take(pp_rstore *s, const char *tag, const char *const *keys, size_t n,
                   pp_redis_done done, void *ud)
{
    return leases(s, PP_RS_RELEASE, tag, PP_LEASE_CLAIM, "take", 0, keys, n, done, ud);
}

int pp_rstore_untake(pp_rstore *s, const char *tag, const char *const *keys, size_t n,
                     pp_redis_done done, void *ud)
{
    return leases(s, PP_RS_RELEASE, tag, PP_LEASE_CLAIM, "untake", 0, keys, n, done, ud);
}

int pp_rstore_list(pp_rstore *s, const char *tag, const char *state, int unhanded,
                   const char *cursor, long count, pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0)
        return -1;
    add_str(&a, state ? state : "");
    add_str(&a, cursor && *cursor ? cursor : "0");
    add_num(&a, count > 0 ? count : 100);
    add_str(&a, unhanded ? "1" : "0");
    return run(s, &a, PP_RS_LIST, PP_REDIS_IDEMPOTENT, done, ud);
}

/* Not idempotent in its answer: a page resent after a lost connection
 * answers for the next page; the caller calls again until 0 anyway. */
int pp_rstore_forget(pp_rstore *s, const char *tag, int force, long page, pp_redis_done done,
                     void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0 || page <= 0)
        return -1;
    add_str(&a, force ? "1" : "0");
    add_num(&a, page);
    return run(s, &a, PP_RS_FORGET, PP_REDIS_IDEMPOTENT, done, ud);
}

int pp_rstore_counts(pp_rstore *s, const char *tag, pp_redis_done done, void *ud)
{
    args a;
    if (begin(s, &a, tag) < 0)
        return -1;
    const char *argv[2] = {"HGETALL", a.key};
    int rc = pp_redis_command(s->r, PP_REDIS_IDEMPOTENT, 2, argv, NULL, done, ud);
    free(a.v);
    free(a.l);
    return rc;
}
