#include "ratelimit.h"

#include "config.h"
#include "util.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    time_t window;
    long used;
} budget[EMU_MAX_USERS];

int ratelimit_take(int user, long n, long *limit, long *remaining)
{
    long lim = g_cfg.rate_limit > 0 ? g_cfg.rate_limit : RATELIMIT_UNLIMITED;
    time_t sec = (time_t)now_s();
    int ok;
    pthread_mutex_lock(&lock);
    if (budget[user].window != sec) {
        budget[user].window = sec;
        budget[user].used = 0;
    }
    if (g_cfg.rate_limit <= 0) {
        ok = 1; /* unlimited: never refuse, and keep showing a full budget */
    } else {
        ok = n <= lim - budget[user].used;
        if (ok)
            budget[user].used += n;
    }
    long rem = g_cfg.rate_limit > 0 ? lim - budget[user].used : lim;
    pthread_mutex_unlock(&lock);
    *limit = lim;
    *remaining = rem < 0 ? 0 : rem;
    return ok;
}

void ratelimit_reset(void)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < EMU_MAX_USERS; i++)
        budget[i].used = 0, budget[i].window = 0;
    pthread_mutex_unlock(&lock);
}
