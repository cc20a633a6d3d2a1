/* The client's connection to the fleet store on Redis. It is driven by
 * the same host calls as curl's transfers (drive.c serves its fd and its
 * deadlines); the store's operations (redis_store.c) run on it. */
#include "client.h"
#include "redis.h"

int pp_fleet_open(pp_client *c, const pp_redis_config *cfg, pp_error *err)
{
    if (!c)
        return -1;
    if (c->redis)
        return pp_fail(c, err, "a Redis store is open already");
    char msg[512];
    pp_redis *r = pp_redis_new(cfg, &c->fdchanges, &c->rng, msg, sizeof msg);
    if (!r)
        return pp_fail(c, err, msg);
    c->redis = r;
    return 0;
}

void pp_fleet_close(pp_client *c)
{
    if (!c || !c->redis)
        return;
    pp_redis *r = c->redis;
    c->redis = NULL;
    pp_redis_free(r);
}
