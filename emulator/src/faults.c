#include "faults.h"

#include "config.h"
#include "stats.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_share(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= 0 && v <= 1))
    return -1;
  *out = v;
  return 0;
}

int faults_parse(const char *spec, char *err, size_t errlen) {
  char *copy = strdup(spec);
  if (!copy) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int rc = 0;
  char *save = NULL;
  for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (!eq) {
      snprintf(err, errlen, "--inject: '%s' is not NAME=SHARE", item);
      rc = -1;
      break;
    }
    *eq = '\0';
    const char *name = item, *val = eq + 1;
    double *dst = NULL;
    if (strcmp(name, "429") == 0)
      dst = &g_cfg.inject_429;
    else if (strcmp(name, "500") == 0)
      dst = &g_cfg.inject_500;
    else if (strcmp(name, "drop") == 0)
      dst = &g_cfg.inject_drop;
    else if (strcmp(name, "callback-loss") == 0)
      dst = &g_cfg.callback_loss;
    else if (strcmp(name, "slow") == 0) {
      char *colon = strchr(eq + 1, ':');
      if (!colon || parse_duration(colon + 1, &g_cfg.inject_slow_secs) != 0) {
        snprintf(err, errlen, "--inject: slow needs SHARE:DURATION, e.g. slow=0.1:2s");
        rc = -1;
        break;
      }
      *colon = '\0';
      dst = &g_cfg.inject_slow;
    } else {
      snprintf(err, errlen, "--inject: unknown fault '%s' (429, 500, drop, slow, callback-loss)", name);
      rc = -1;
      break;
    }
    if (parse_share(val, dst) != 0) {
      snprintf(err, errlen, "--inject: %s needs a share between 0 and 1", name);
      rc = -1;
      break;
    }
  }
  free(copy);
  if (rc == 0 && g_cfg.inject_429 + g_cfg.inject_500 + g_cfg.inject_drop + g_cfg.inject_slow > 1.0 + 1e-9) {
    snprintf(err, errlen, "--inject: the shares of 429, 500, drop and slow add up to more than 1");
    rc = -1;
  }
  return rc;
}

enum fault faults_draw(void) {
  double total = g_cfg.inject_429 + g_cfg.inject_500 + g_cfg.inject_drop + g_cfg.inject_slow;
  if (total <= 0)
    return FAULT_NONE; /* the common case costs no random draw and no lock */
  double u = rng_unit();
  if ((u -= g_cfg.inject_429) < 0)
    return FAULT_429;
  if ((u -= g_cfg.inject_500) < 0)
    return FAULT_500;
  if ((u -= g_cfg.inject_drop) < 0)
    return FAULT_DROP;
  if ((u -= g_cfg.inject_slow) < 0)
    return FAULT_SLOW;
  return FAULT_NONE;
}

void faults_count(enum fault f) {
  switch (f) {
  case FAULT_429: stats_add(SC_INJ_429, 1); break;
  case FAULT_500: stats_add(SC_INJ_500, 1); break;
  case FAULT_DROP: stats_add(SC_INJ_DROP, 1); break;
  case FAULT_SLOW: stats_add(SC_INJ_SLOW, 1); break;
  case FAULT_NONE: break;
  }
}
