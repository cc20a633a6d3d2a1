/* Request handlers, one function per endpoint. They fill a reply and never
 * block: anything slow is handed to the worker. */
#ifndef EMU_API_H
#define EMU_API_H

#include "server.h"

/* /v1/queries... */
void api_submit(struct request *req, struct reply *rep);
void api_submit_batch(struct request *req, struct reply *rep);
void api_get_job(struct request *req, struct reply *rep);
void api_get_results(struct request *req, struct reply *rep);
void api_get_content(struct request *req, struct reply *rep);
void api_callbacker_ips(struct request *req, struct reply *rep);

/* /v1/schedules... */
void api_schedule_create(struct request *req, struct reply *rep);
void api_schedule_list(struct request *req, struct reply *rep);
void api_schedule_get(struct request *req, struct reply *rep);
void api_schedule_state(struct request *req, struct reply *rep);
void api_schedule_runs(struct request *req, struct reply *rep);

/* /_emulator/... (no auth) */
void api_admin(struct request *req, struct reply *rep);

/* Parses the body as a JSON value; on failure fills a 400 and returns NULL. */
json_t *api_body_json(struct request *req, struct reply *rep);

#endif
