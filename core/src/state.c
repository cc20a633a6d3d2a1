/* The job state machine (DESIGN.md): a transition table, and the single
 * function through which every state change passes. */
#include "internal.h"

static const char *const names[PP_STATE_COUNT] = {
    "new", "submitting", "pending", "done", "faulted", "fetching",
    "fetched", "rejected", "unknown", "expired",
};

const char *pp_state_name(pp_state s)
{
    return ((int)s >= 0 && s < PP_STATE_COUNT) ? names[s] : 0;
}

int pp_state_is_final(pp_state s)
{
    switch (s) {
    case PP_FETCHED: case PP_FAULTED: case PP_REJECTED:
    case PP_UNKNOWN: case PP_EXPIRED:
        return 1;
    default:
        return 0;
    }
}

#define B(s) (1u << (s))
/* allowed[from] is the set of states `from` may move to. */
static const unsigned allowed[PP_STATE_COUNT] = {
    /* new: submitted, or attached to an id the service has */
    [PP_NEW] = B(PP_SUBMITTING) | B(PP_PENDING),
    [PP_SUBMITTING] = B(PP_PENDING) | B(PP_REJECTED) | B(PP_UNKNOWN),
    [PP_PENDING] = B(PP_DONE) | B(PP_FAULTED) | B(PP_EXPIRED),
    /* done -> fetched: the results poll found it done and brought the
     * results in the same answer; done -> faulted: the results say 613 */
    [PP_DONE] = B(PP_FETCHING) | B(PP_FETCHED) | B(PP_FAULTED) | B(PP_EXPIRED),
    /* fetching -> done: the download failed and may be tried again */
    [PP_FETCHING] = B(PP_FETCHED) | B(PP_DONE) | B(PP_FAULTED) | B(PP_EXPIRED),
    [PP_FAULTED] = 0,
    [PP_FETCHED] = 0,
    [PP_REJECTED] = 0,
    [PP_UNKNOWN] = 0,
    [PP_EXPIRED] = 0,
};

int pp_transition_allowed(pp_state from, pp_state to)
{
    if ((int)from < 0 || from >= PP_STATE_COUNT || (int)to < 0 || to >= PP_STATE_COUNT)
        return 0;
    return (allowed[from] & B(to)) != 0;
}

int pp_job_transition(pp_client *c, pp_jobrec *j, pp_state to)
{
    if (!pp_transition_allowed(j->state, to))
        return -1;
    j->state = to;
    pp_event ev;
    ev.kind = PP_EVENT_JOB;
    ev.job = j->h;
    ev.state = to;
    ev.op = 0;
    /* An event lost to memory exhaustion still leaves the state right:
     * hosts read pp_job_state when they wake. */
    (void)pp_evq_push(&c->events, &ev);
    if (pp_state_is_final(to))
        pp_poll_stop(c, j);
    return 0;
}
