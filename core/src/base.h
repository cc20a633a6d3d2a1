/*
 * The bottom layer of libpushpull: helpers every other layer may use and
 * that use nothing of the core above them (buffers, strings, time,
 * randomness, errors, jansson helpers, the timer heap, the host queues,
 * link upgrades). Not installed.
 *
 * The shared buffer and JSON helpers come from common/ (pc_buf, pc_json_*).
 *
 * The layers, each including only headers of its own layer or below
 * (core/tests/check_layers.sh enforces it, for includes and for calls):
 *   base.h       this file
 *   transport.h  one HTTP exchange, the curl multi engine, retries
 *   answers.h    an HTTP answer -> a verdict (pure), the batch scanner
 *   jobs.h       job records, the state machine, result storage
 *   client.h     scheduling, callbacks, operations, submissions, the client
 *   listener.c   the callback listener (libmicrohttpd), on top of client.h
 */
#ifndef PP_BASE_H
#define PP_BASE_H

#define _POSIX_C_SOURCE 200809L

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "pushpull.h"

/* ---- buffers and JSON helpers shared with the emulator and the test
 * site (common/): pc_buf, pc_json_dump, pc_json_str */
#include "pc_buf.h"
#include "pc_json.h"

/* ---- util.c: strings, time, randomness */
/* Makes room for one more pointer in a table of n (doubling). 0 / -1. */
int pp_table_reserve(void ***v, size_t *cap, size_t n, size_t first);
char *pp_strdup(const char *s);
char *pp_strndup(const char *s, size_t n);
int pp_strncaseeq(const char *a, const char *b, size_t n);
/* Overwrites a secret (a password) before freeing it. */
void pp_free_secret(char *s);
uint64_t pp_now_ms(void);
/* xorshift64*: per client, so two clients never share state. */
uint64_t pp_rand(uint64_t *state);
double pp_rand_unit(uint64_t *state); /* [0, 1) */

/* ---- debug.c: lines for a person watching (pp_config.debug) */
typedef struct pp_debug {
    void (*fn)(void *ud, const char *line); /* NULL: off */
    void *ud;
} pp_debug;
/* fn, or -- when fn is NULL and PUSHPULL_DEBUG is set -- stderr. */
void pp_debug_init(pp_debug *d, void (*fn)(void *, const char *), void *ud);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void pp_debug_emit(const pp_debug *d, const char *fmt, ...);
/* Formats nothing, evaluates no argument, while debug is off. */
#define PP_DEBUG(d, ...)                     \
    do {                                     \
        if ((d)->fn)                         \
            pp_debug_emit((d), __VA_ARGS__); \
    } while (0)

/* ---- errors.c */
extern const char pp_oom_message[];
void pp_err_clear(pp_error *e);
/* Sets e (clearing what it held); on allocation failure the message is
 * pp_oom_message and the body is dropped. */
void pp_err_set(pp_error *e, const char *message, int http_status, const char *body,
                size_t body_len);
/* "401 Unauthorized" or "400 Bad Request: <the body's message>". */
void pp_err_from_http(pp_error *e, long status, const char *body, size_t len);
void pp_err_copy(pp_error *dst, const pp_error *src);
/* Sets e to "<what>: <strerror(errnum)>". */
void pp_err_errno(pp_error *e, const char *what, int errnum);
const char *pp_http_reason(long status);
/* Copies src into the caller's view *out (may be NULL); returns -1, the
 * value every failing call of the API returns. */
int pp_err_out(pp_error *out, const pp_error *src);

/* ---- json_util.c */
/* A job id as text: strings as they are, integers printed (buf >= 32). */
const char *pp_json_id(json_t *obj, char *buf, size_t buflen);
/* The "message" of an error body {"message": ...}, NULL if none. */
char *pp_json_error_message(const char *body, size_t len);
/* Ids go into URL paths and file names: 1..96 letters, digits, '-', '_'. */
int pp_id_valid(const char *id);

/* ---- links.c */
/* A newly allocated href with http:// upgraded to https:// when base_url
 * is https; otherwise a copy. NULL on allocation failure. */
char *pp_link_upgrade(const char *href, const char *base_url);
/* Upgrades every _links[].href of a job object in place to the base URL's
 * scheme and drops links that point anywhere but base_url (a forged or
 * broken answer must not send the client's credentials elsewhere). 0 / -1. */
int pp_links_clean_job(json_t *job, const char *base_url);

/* ---- heap.c: one min-heap of timers, O(log n) push/remove */
typedef struct pp_timer {
    uint64_t due;
    size_t idx; /* position in the heap, PP_NOT_QUEUED when out */
    int kind;
    void *owner;
} pp_timer;
#define PP_NOT_QUEUED ((size_t)-1)

typedef struct pp_heap {
    pp_timer **v;
    size_t n, cap;
} pp_heap;

void pp_timer_init(pp_timer *t, int kind, void *owner);
int pp_heap_set(pp_heap *h, pp_timer *t, uint64_t due); /* (re)arm; 0/-1 */
void pp_heap_remove(pp_heap *h, pp_timer *t);
pp_timer *pp_heap_top(const pp_heap *h);
void pp_heap_free(pp_heap *h);

/* ---- events.c: the two queues the host pulls from */
typedef struct pp_evq {
    pp_event *v;
    size_t head, n, cap; /* live items are v[head .. n) */
} pp_evq;
typedef struct pp_fdq {
    pp_fd_change *v;
    size_t head, n, cap;
} pp_fdq;

int pp_evq_push(pp_evq *q, const pp_event *ev);
size_t pp_evq_take(pp_evq *q, pp_event *out, size_t max);
void pp_evq_free(pp_evq *q);
/* Records fd interest, folding it into a queued change for the same fd
 * unless one of the two is a removal (so close/reopen stays visible). */
int pp_fdq_push(pp_fdq *q, int fd, int events);
size_t pp_fdq_take(pp_fdq *q, pp_fd_change *out, size_t max);
void pp_fdq_clear(pp_fdq *q);
void pp_fdq_free(pp_fdq *q);

#endif
