/* The Redis backend of the job store, shared by its files (not
 * installed, not the journal's business): store_redis.c (the group,
 * flushes, claims, opening), store_redis_list.c (lists and leases),
 * store_redis_callbacks.c (callbacks anywhere), store_redis_forget.c
 * (retention, and a tag dropped at once). The interface is
 * store.h's; the Redis-only calls are declared in redis.h. */
#ifndef PP_STORE_REDIS_H
#define PP_STORE_REDIS_H

#include "redis.h"
#include "store.h"

#include <jansson.h>

#define UNTAGGED "pp-untagged" /* the Redis tag of jobs without one */

/* ---- the key map: each job this process knows -> its tag and submission */

typedef struct slot {
    int64_t key; /* 0: empty */
    int64_t sid;
    uint32_t tag;
    int lease;            /* LEASE_NONE, or the lease this process holds on it */
    uint64_t valid_until; /* a claim: surely still held before then (ms) */
} slot;

enum { LEASE_NONE = 0, LEASE_CLAIMED, LEASE_POLLED };

typedef struct keymap {
    slot *v;
    size_t n, cap;
} keymap;

/* ---- the group being gathered */

typedef struct rsub {
    int64_t sid;
    uint32_t tag;
    char *envelope; /* the submission as JSON: params, list key, results, pid, host */
    char **keys, **values;
    size_t n, cap;
    int64_t *holds; /* claims it needs (replaces) */
    size_t nholds;
    struct rsub *next;
} rsub;

/* What a write of the group does: a move, a given-back take, the end of
 * a claim (handed out for good, or claimable again). */
enum { W_MOVE = 0, W_UNTAKE, W_HANDED, W_RETURN, W_KINDS };

typedef struct rwrite {
    uint32_t tag;
    int kind;
    char key[24];
    const char *path;
    char *fields; /* JSON object or NULL */
} rwrite;

typedef struct flushrec {
    int pending; /* commands not answered yet */
    int failed;
    char why[300];
    int64_t *sending; /* submissions this flush marks as leaving */
    size_t nsending;
    pp_store_done_fn done;
    void *ud;
    struct flushrec *next;
} flushrec;

typedef struct rstore {
    pp_store base;
    pp_rstore rs;
    pp_redis *r;
    int64_t proc; /* 0 until INCR answered */
    int proc_failed;
    uint32_t counter;
    char host[64];
    char **tags; /* index -> tag as used in Redis keys */
    unsigned char *tag_known;
    size_t ntags;
    keymap map;
    /* the group */
    rsub *subs, **subs_tail;
    rwrite *w;
    size_t nw, capw;
    int64_t *holds;
    size_t nholds;
    int64_t *sending;
    size_t nsending;
    /* flushes out, oldest first */
    flushrec *fhead, **ftail;
    /* submissions refused (claims not got, or not recorded) */
    int64_t *refused;
    size_t nrefused;
    /* leases: how long, and when this process renews those it holds */
    long lease_ms;
    uint64_t next_renew;
    size_t nleases;
    /* the first lease to run out among the claims whose end is in the
     * group (0: none) */
    uint64_t release_due;
    /* callbacks that reached another process (<prefix>:callbacks) */
    char cb_last[48]; /* the last stream entry read */
    uint64_t cb_next; /* when to read again; 0: not reading */
    int cb_reading;   /* a read is out */
    void (*cb_fn)(void *ud, const char *id, int claim);
    void *cb_ud;
    char why[512];
} rstore;

static inline rstore *RS(pp_store *s)
{
    return (rstore *)s;
}

/* The key map. */
slot *rs_map_find(const keymap *m, int64_t key);
int rs_map_put(keymap *m, int64_t key, int64_t sid, uint32_t tag);
/* Grows *v (of *n used, *cap allocated, size bytes each) for one more. */
int rs_push(void *vp, size_t *n, size_t *cap, size_t size);
/* The index of a tag (NULL: untagged), added when new; -1 out of memory. */
long rs_tag_index(rstore *s, const char *tag);
const char *rs_tag_of(rstore *s, uint32_t t);
const char *rs_tag_public(const char *t); /* NULL for the untagged */
const char *rs_oom(rstore *s);
void rs_set_lease(rstore *s, slot *m, int lease);
void rs_strings_free(char **v, size_t n);
/* store_redis_list.c: the store's list(). */
int rs_list(pp_store *st, const pp_store_filter *f, pp_store_row_fn each, pp_store_done_fn done,
            void *ud, const char **why);
/* store_redis_forget.c: the store's forget(). */
int rs_forget(pp_store *st, const char *tag, int force, pp_store_done_fn done, void *ud,
              const char **why);

#endif
