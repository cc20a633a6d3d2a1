/* --inject: which API answers are replaced by a fault. One draw per /v1
 * request decides among 429, 500, drop and slow (their shares add up). */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include <stddef.h>

enum fault { FAULT_NONE, FAULT_429, FAULT_500, FAULT_DROP, FAULT_SLOW };

/* Parses "429=0.1,500=0.05,drop=0.01,slow=0.1:2s,callback-loss=0.2" into
 * g_cfg. Returns 0 on success, -1 with a message in err otherwise. */
int faults_parse(const char *spec, char *err, size_t errlen);
enum fault faults_draw(void);
/* Counts an applied fault in the stats. */
void faults_count(enum fault f);

#endif
