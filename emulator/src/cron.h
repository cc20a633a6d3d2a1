/* Five-field cron expressions (minute hour day-of-month month day-of-week):
 * "*", numbers, lists, ranges, steps, and month/day names. Times are UTC. */
#ifndef EMU_CRON_H
#define EMU_CRON_H

#include <stddef.h>
#include <stdint.h>

struct cron {
    uint64_t minute; /* bit n set: minute n matches */
    uint32_t hour, dom;
    uint16_t month;
    uint8_t dow;
    int dom_any, dow_any; /* field was "*": the other day field decides alone */
};

/* Returns 0, or -1 with a message naming the bad field in err. */
int cron_parse(const char *expr, struct cron *c, char *err, size_t errlen);
/* The first matching minute strictly after t, or -1 when none comes within
 * about five years (e.g. "0 0 30 2 *"). */
double cron_next(const struct cron *c, double t);

#endif
