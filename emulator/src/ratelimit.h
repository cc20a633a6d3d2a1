/* Per-user submission budget: --rate-limit jobs per one-second window. */
#ifndef EMU_RATELIMIT_H
#define EMU_RATELIMIT_H

/* The limit advertised when --rate-limit is 0 (unlimited): clients that
 * pace by the headers then never slow down. */
#define RATELIMIT_UNLIMITED 1000000

/* Takes n jobs from user's budget of the current second, all or nothing.
 * Returns 1 when granted. limit and remaining are what the headers show. */
int ratelimit_take(int user, long n, long *limit, long *remaining);
void ratelimit_reset(void);

#endif
