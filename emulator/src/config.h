/* Process-wide settings, filled once by main.c from the command line and
 * read-only afterwards (so every thread may read them without locking). */
#ifndef EMU_CONFIG_H
#define EMU_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define EMU_MAX_USERS 64
#define EMU_MAX_CALLBACKER_IPS 16

enum jobtime_kind { JOBTIME_FIXED, JOBTIME_UNIFORM, JOBTIME_LOGNORMAL };

struct jobtime {
    enum jobtime_kind kind;
    double a; /* fixed: seconds; uniform: low; lognormal: median seconds */
    double b; /* uniform: high; lognormal: sigma */
};

struct emu_user {
    char *name;
    char *pass;
    char *auth_header; /* "Basic base64(name:pass)", for a fast exact match */
    int client_id;
};

struct emu_config {
    int port;
    char *bind;
    struct emu_user users[EMU_MAX_USERS];
    int nusers;
    struct jobtime job_time;
    double fault_rate;
    double inject_429, inject_500, inject_drop, inject_slow, inject_slow_secs;
    double inject_ambiguous, inject_dup_id;
    unsigned inject_ambiguous_outcomes; /* enum ambiguous_outcome bits (faults.h) */
    double callback_loss;
    int rate_limit;
    double retention;
    char *storage_dir;
    char *callbacker_ips[EMU_MAX_CALLBACKER_IPS];
    int ncallbacker_ips;
    int workers;
    uint64_t seed;
    int seed_given;
    size_t max_body;
    int actual_port; /* the port really bound (differs when --port 0) */
};

extern struct emu_config g_cfg;

#endif
