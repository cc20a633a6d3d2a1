/*
 * The answers layer: what an HTTP answer of the service means. Each reader
 * takes one answer (request kind, HTTP status, x-oxylabs-job-status, body)
 * and returns a verdict; nothing here changes a job, sends a request or
 * keeps state. This is the one place answers are interpreted. Not
 * installed.
 */
#ifndef PP_ANSWERS_H
#define PP_ANSWERS_H

#include "transport.h"

/* What the transport brought back, as the readers see it. */
typedef struct pp_answer {
    int http; /* 1: an HTTP answer came; 0: none */
    long status;
    int jobhdr;       /* enum pp_jobhdr */
    const char *body; /* the body in memory, NULL if none */
    size_t len;
    const char *path;  /* or the file holding a 2xx body */
    const char *error; /* why no answer came (http == 0) */
    int never_sent;    /* the request provably never left */
} pp_answer;

void pp_answer_from_req(pp_answer *a, const pp_req *r, const char *path);

enum pp_verdict_kind {
    PP_V_NOTHING = 0, /* says nothing about the job (a failure, an
                         unexpected answer): ask again later */
    PP_V_PENDING,     /* the service says it is still running */
    PP_V_DONE,        /* the service says done; results still to fetch */
    PP_V_RESULTS,     /* the results are here: done, and proven */
    PP_V_FAULTED,     /* the service says it gave up on the job */
    PP_V_EXPIRED,     /* the service no longer has it */
    PP_V_NOT_READY    /* results asked for and a bare 204 came back */
};

typedef struct pp_verdict {
    int kind;
    int http_status; /* of the answer, 0 if none */
    const char *why; /* a static reason, or NULL */
    json_t *object;  /* a status answer's job object (a reference the
                        caller releases), else NULL */
} pp_verdict;

/* GET /v1/queries/{id}/results[?type=]: 200 results (all 613: faulted),
 * 204 pending/faulted/done-header (expired)/bare, 404 expired. */
pp_verdict pp_read_results(const pp_answer *a);
/* GET /v1/queries/{id}: 200 with the job object, 404 expired. */
pp_verdict pp_read_status(const pp_answer *a);
/* A job object's status word as a verdict kind (PENDING, DONE, FAULTED),
 * PP_V_NOTHING for anything else. */
int pp_read_job_status(json_t *obj);
/* Results of a 200: 1 when every result has status_code 613. */
int pp_results_all_faulted(json_t *root);

/* A callback body: 0 with the job's id (validated, copied to id, which
 * holds PP_ID_MAX + 1 bytes) and the status it claims as a verdict kind;
 * -1 when it is not a job object with a valid id and a status. */
#define PP_ID_MAX 96
int pp_read_callback(const char *body, size_t len, char *id, int *claim);

/* A submission request's outcome. */
enum pp_submission_kind {
    PP_SUB_ACCEPTED = 1, /* 2xx: the jobs are in the answer */
    PP_SUB_RETRY,        /* 429, or never sent: nothing was created */
    PP_SUB_REJECTED,     /* another 4xx: the service refused it */
    PP_SUB_UNKNOWN       /* anything else (5xx, 524, no answer): the
                            service may have created the jobs */
};
int pp_read_submission(const pp_answer *a);

/* One job object of a submission answer: the parsed object (the caller
 * releases it) with its validated id copied to id (PP_ID_MAX + 1 bytes),
 * or NULL with a static reason in *why. */
json_t *pp_read_job_item(const char *text, size_t len, char *id, const char **why);

#endif
