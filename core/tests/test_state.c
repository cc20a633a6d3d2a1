/* The job state machine: every allowed and forbidden transition. */
#include "client.h"
#include "check.h"

#include <string.h>

static int allowed_by_design(pp_state f, pp_state t)
{
    static const struct { pp_state f, t; } ok[] = {
        {PP_NEW, PP_SUBMITTING}, {PP_NEW, PP_PENDING},
        {PP_SUBMITTING, PP_PENDING}, {PP_SUBMITTING, PP_REJECTED},
        {PP_SUBMITTING, PP_UNKNOWN},
        {PP_PENDING, PP_DONE}, {PP_PENDING, PP_FAULTED}, {PP_PENDING, PP_EXPIRED},
        {PP_DONE, PP_FETCHING}, {PP_DONE, PP_FETCHED}, {PP_DONE, PP_FAULTED},
        {PP_DONE, PP_EXPIRED},
        {PP_FETCHING, PP_FETCHED}, {PP_FETCHING, PP_DONE},
        {PP_FETCHING, PP_FAULTED}, {PP_FETCHING, PP_EXPIRED},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i].f == f && ok[i].t == t)
            return 1;
    return 0;
}

int main(void)
{
    for (int f = 0; f < PP_STATE_COUNT; f++)
        for (int t = 0; t < PP_STATE_COUNT; t++)
            CHECK_EQ_LONG(pp_transition_allowed((pp_state)f, (pp_state)t),
                          allowed_by_design((pp_state)f, (pp_state)t));
    /* final states never move */
    static const pp_state finals[] = {PP_FETCHED, PP_FAULTED, PP_REJECTED, PP_UNKNOWN, PP_EXPIRED};
    for (size_t i = 0; i < 5; i++) {
        CHECK(pp_state_is_final(finals[i]));
        for (int t = 0; t < PP_STATE_COUNT; t++)
            CHECK(!pp_transition_allowed(finals[i], (pp_state)t));
    }
    CHECK(!pp_state_is_final(PP_DONE));
    CHECK(!pp_state_is_final(PP_PENDING));
    CHECK(!pp_transition_allowed(PP_PENDING, PP_PENDING));
    CHECK(!pp_transition_allowed((pp_state)-1, PP_NEW));
    CHECK(!pp_transition_allowed(PP_NEW, PP_STATE_COUNT));

    CHECK(strcmp(pp_state_name(PP_NEW), "new") == 0);
    CHECK(strcmp(pp_state_name(PP_FETCHING), "fetching") == 0);
    CHECK(strcmp(pp_state_name(PP_EXPIRED), "expired") == 0);
    CHECK(pp_state_name(PP_STATE_COUNT) == NULL);
    CHECK(pp_state_name((pp_state)-3) == NULL);

    /* through a client: the one transition function queues events and
     * refuses forbidden moves without changing anything */
    pp_config cfg;
    pp_config_init(&cfg);
    cfg.base_url = "http://127.0.0.1:9";
    pp_client *c = pp_client_new(&cfg, NULL, 0);
    CHECK(c != NULL);
    pp_jobrec *j = pp_job_create(c);
    CHECK(j && j->state == PP_NEW);
    CHECK(pp_job_transition(c, j, PP_DONE) == -1);
    CHECK(j->state == PP_NEW);
    CHECK(pp_job_transition(c, j, PP_SUBMITTING) == 0);
    CHECK(pp_job_transition(c, j, PP_PENDING) == 0);
    CHECK(pp_job_transition(c, j, PP_DONE) == 0);
    CHECK(pp_job_transition(c, j, PP_FETCHED) == 0);
    CHECK(pp_job_transition(c, j, PP_FETCHING) == -1);
    pp_event ev[8];
    size_t n = pp_take_events(c, ev, 8);
    CHECK_EQ_LONG(n, 4);
    CHECK(ev[0].kind == PP_EVENT_JOB && ev[0].job == j->h && ev[0].state == PP_SUBMITTING);
    CHECK(ev[3].state == PP_FETCHED);
    CHECK_EQ_LONG(pp_take_events(c, ev, 8), 0);
    CHECK(pp_job_state(c, j->h) == PP_FETCHED);
    pp_client_free(c);
    DONE();
}
