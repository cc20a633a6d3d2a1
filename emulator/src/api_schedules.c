/* /v1/schedules endpoints. */
#include "api.h"

#include "schedules.h"

#include <string.h>

void api_schedule_create(struct request *req, struct reply *rep)
{
    json_t *body = api_body_json(req, rep);
    if (!body)
        return;
    char err[512];
    json_t *out = schedules_create(req->user, body, req->host, err, sizeof err);
    json_decref(body);
    if (!out)
        reply_message(rep, 400, "%s", err);
    else
        reply_json(rep, 201, out);
}

void api_schedule_list(struct request *req, struct reply *rep)
{
    reply_json(rep, 200, schedules_list(req->user));
}

static void not_found(struct reply *rep)
{
    reply_message(rep, 404, "Schedule not found");
}

void api_schedule_get(struct request *req, struct reply *rep)
{
    json_t *s = schedules_get(req->user, req->segs[2]);
    if (s)
        reply_json(rep, 200, s);
    else
        not_found(rep);
}

void api_schedule_state(struct request *req, struct reply *rep)
{
    json_t *body = api_body_json(req, rep);
    if (!body)
        return;
    json_t *active = json_object_get(body, "active");
    if (!json_is_boolean(active))
        reply_message(rep, 400, "active must be a boolean");
    else if (schedules_set_active(req->user, req->segs[2], json_is_true(active)) != 0)
        not_found(rep);
    else
        reply_empty(rep, 202);
    json_decref(body);
}

void api_schedule_runs(struct request *req, struct reply *rep)
{
    json_t *runs = schedules_runs(req->user, req->segs[2]);
    if (runs)
        reply_json(rep, 200, runs);
    else
        not_found(rep);
}
