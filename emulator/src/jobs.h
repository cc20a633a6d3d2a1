/* The job table: every job of every user, by id.
 *
 * Sharded by id so that concurrent readers on different jobs never meet on
 * one lock, and each lock is held only for a lookup or a memcpy. A job is
 * reference counted: the table holds one reference, and a handler or the
 * worker holds another while it uses the job outside the lock, so expiry or
 * reset can drop a job from the table while an answer is still being built
 * from it. */
#ifndef EMU_JOBS_H
#define EMU_JOBS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum job_status { JOB_PENDING, JOB_DONE, JOB_FAULTED };

/* One page of results. body is NULL for synthesized (query) pages, which are
 * regenerated on demand from the query: same query, same page, so nothing
 * needs to be kept. */
struct page {
    int page;
    int status_code;
    char *body;
    size_t len;
};

struct job {
    /* Immutable after creation. */
    uint64_t id;
    int user;
    int is_url;
    char *target; /* the url or the query */
    char *host;   /* Host the job was submitted through, for _links in callbacks */
    json_t *tmpl; /* validated parameters, shared by all jobs of a batch */
    double created;
    int start_page, npages_wanted, limit, parse;
    /* Set once by the worker before the job leaves pending, read-only after. */
    struct page *pages;
    int npages;
    /* Guarded by the shard lock. */
    enum job_status status;
    double updated;
    json_t *statuses;
    char *cache; /* serialized job object for cache_host, NULL when stale */
    size_t cache_len;
    char *cache_host;
    char *res_cache; /* serialized results of a finished job for res_key */
    size_t res_len;
    char res_key[16];
    /* Table internals. */
    int removed; /* out of the table (expired, reset); guarded by the shard lock */
    int refs;
    struct job *next;
};

int jobs_init(uint64_t seed);
void jobs_shutdown(void);

/* Creates a pending job and inserts it; returns it with a reference for the
 * caller (jobs_put when done) or NULL when out of memory. */
struct job *jobs_create(int user, json_t *tmpl, const char *target, int is_url, const char *host);
/* Looks a job up by id; NULL when absent. The result holds a reference. */
struct job *jobs_get(uint64_t id);
/* Parses a decimal id and looks it up for that user only: another user's
 * job is as invisible as an unknown one. */
struct job *jobs_get_for(const char *idstr, int user);
/* Parses a decimal job id; 0 when it is not one. */
uint64_t jobs_parse_id(const char *idstr);
void jobs_put(struct job *j);

/* The job object as JSON text (with _links for host), from the cache when
 * it is still fresh. Returns a malloc'd copy, NULL when out of memory. */
char *jobs_render(struct job *j, const char *host, size_t *len);
/* The job object as a new JSON value. */
json_t *jobs_object(struct job *j, const char *host);
/* Current status, and finish time (or creation time while pending). */
enum job_status jobs_status(struct job *j, double *updated);
/* Ends a pending job: status, finish time now, and optionally one entry to
 * append to statuses (stolen). Returns 0, or -1 if it had already ended. */
int jobs_finish(struct job *j, enum job_status st, json_t *status_entry);

/* Results of a finished job never change, so their serialization can be
 * kept for repeated reads. key names the result types asked for. The cache
 * is bounded process-wide (RESULTS_CACHE_BYTES); beyond that, results are
 * simply rebuilt each time. jobs_results_cached returns a malloc'd copy or
 * NULL. */
#define RESULTS_CACHE_BYTES (64u * 1024u * 1024u)
char *jobs_results_cached(struct job *j, const char *key, size_t *len);
void jobs_results_store(struct job *j, const char *key, const char *data, size_t len);

/* Removes finished jobs whose retention ran out. Returns how many. */
size_t jobs_expire(double now, double retention);
/* Removes every job (POST /_emulator/reset). */
void jobs_clear(void);

const char *jobs_status_name(enum job_status s);

#endif
