/* /_emulator/: the test harness's view and controls (no auth). */
#include "api.h"

#include "jobs.h"
#include "ratelimit.h"
#include "schedules.h"
#include "stats.h"
#include "values.h"

#include <string.h>

static int is(const struct request *r, int n, const char *method)
{
    return r->nsegs == n && strcmp(r->method, method) == 0;
}

/* When a job was created and finished, as Unix times with sub-second
 * precision (the job object only has whole seconds): benchmarks use it to
 * measure how long a client took to notice a job's end. */
static void admin_job(const char *idstr, struct reply *rep)
{
    uint64_t id = jobs_parse_id(idstr);
    struct job *j = id ? jobs_get(id) : NULL;
    if (!j) {
        reply_message(rep, 404, "Job not found");
        return;
    }
    double updated;
    enum job_status st = jobs_status(j, &updated);
    json_t *o =
        json_pack("{s:s,s:s,s:f,s:o}", "id", idstr, "status", jobs_status_name(st), "created_at",
                  j->created, "finished_at", st == JOB_PENDING ? json_null() : json_real(updated));
    jobs_put(j);
    if (o)
        reply_json(rep, 200, o);
    else
        reply_message(rep, 500, "out of memory");
}

void api_admin(struct request *req, struct reply *rep)
{
    const char *what = req->nsegs >= 2 ? req->segs[1] : "";
    if (strcmp(what, "stats") == 0 && req->nsegs == 2) {
        if (is(req, 2, "GET"))
            reply_json(rep, 200, stats_json());
        else
            reply_message(rep, 405, "use GET");
    } else if (strcmp(what, "reset") == 0 && req->nsegs == 2) {
        if (is(req, 2, "POST")) {
            schedules_clear();
            jobs_clear();
            ratelimit_reset();
            values_clear();
            stats_reset();
            reply_json(rep, 200, json_pack("{s:s}", "message", "reset"));
        } else
            reply_message(rep, 405, "use POST");
    } else if (strcmp(what, "jobs") == 0 && req->nsegs == 3) {
        if (is(req, 3, "GET"))
            admin_job(req->segs[2], rep);
        else
            reply_message(rep, 405, "use GET");
    } else if (strcmp(what, "values") == 0 && req->nsegs == 2) {
        if (is(req, 2, "GET"))
            reply_json(rep, 200, values_json()); /* NULL (out of memory) becomes a 500 */
        else
            reply_message(rep, 405, "use GET");
    } else if (strcmp(what, "health") == 0 && req->nsegs == 2) {
        reply_json(rep, 200, json_pack("{s:b}", "ok", 1));
    } else if (strcmp(what, "schedules") == 0 && req->nsegs == 4 &&
               strcmp(req->segs[3], "tick") == 0) {
        if (!is(req, 4, "POST")) {
            reply_message(rep, 405, "use POST");
            return;
        }
        int found;
        json_t *run = schedules_tick(req->segs[2], &found);
        if (run)
            reply_json(rep, 200, run);
        else if (!found)
            reply_message(rep, 404, "Schedule not found");
        else
            reply_message(rep, 500, "out of memory");
    } else {
        reply_message(rep, 404, "unknown admin path");
    }
}
