/* --inject: which API answers are replaced by a fault. One draw per /v1
 * request decides among 429, 500, drop, slow, ambiguous and dup-id (their
 * shares add up to at most 1); ambiguous applies to submissions only and
 * dup-id to batch submissions only, so other requests that draw them are
 * answered normally. */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include "reply.h"
#include "stats.h"

#include <stddef.h>

enum fault {
    FAULT_NONE,
    FAULT_429,
    FAULT_500,
    FAULT_DROP,
    FAULT_SLOW,
    FAULT_AMBIGUOUS, /* the jobs are created, then the answer is lost */
    FAULT_DUP_ID     /* a batch answer repeats the first job's id */
};

/* What an ambiguous submission gets instead of its answer (bits, so that
 * --inject ambiguous=F:500+drop can choose). */
enum ambiguous_outcome { AMBIGUOUS_500 = 1, AMBIGUOUS_524 = 2, AMBIGUOUS_DROP = 4 };
#define AMBIGUOUS_ALL (AMBIGUOUS_500 | AMBIGUOUS_524 | AMBIGUOUS_DROP)

/* Parses "429=0.1,500=0.05,drop=0.01,slow=0.1:2s,ambiguous=0.1:500+524,
 * dup-id=0.1,callback-loss=0.2" into g_cfg. Returns 0 on success, -1 with a
 * message in err otherwise. */
int faults_parse(const char *spec, char *err, size_t errlen);
/* The fault for one request to the given route (FAULT_NONE for a fault
 * that does not apply to it). */
enum fault faults_draw(enum stat_route route);
/* Counts an applied fault in the stats. Ambiguous and dup-id faults are
 * counted by the two functions below, once they know they apply. */
void faults_count(enum fault f);
/* Picks the outcome of an ambiguous submission among the chosen ones and
 * counts it. */
enum ambiguous_outcome faults_ambiguous(void);
/* Rewrites a batch answer {"queries": [...]} so that every job shows the
 * first job's id and _links, and counts it. Returns 0, or -1 (the reply
 * unchanged) when it is not such an answer. */
int faults_repeat_first_id(struct reply *rep);

#endif
