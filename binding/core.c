/*
 * pushpull.core: the Lua binding of libpushpull.
 *
 * A thin layer: one userdata per pp_client, methods that map the functions
 * of core/include/pushpull.h almost one to one, and a few constants. All
 * policy (jobs as objects, waiting, drivers) lives in the Lua modules beside
 * this file. The core never calls back into the host, so nothing here runs
 * Lua from a libcurl callback: the host pulls events with take_events(),
 * and debug lines are queued and handed to the Lua function when the call
 * that drove the core returns.
 *
 * One source for Lua 5.1 / LuaJIT and Lua 5.2 .. 5.4; the differences are in
 * the compat section below.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>

#include "pushpull.h"

/* ---- compat: the few 5.2+ functions used here, for Lua 5.1 and LuaJIT. */
#if LUA_VERSION_NUM < 502
static void compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
    luaL_checkstack(L, nup + 1, "too many upvalues");
    for (; l->name != NULL; l++) {
        int i;
        for (i = 0; i < nup; i++)
            lua_pushvalue(L, -nup);
        lua_pushcclosure(L, l->func, nup);
        lua_setfield(L, -(nup + 2), l->name);
    }
    lua_pop(L, nup);
}
#undef luaL_setfuncs
#define luaL_setfuncs(L, l, n) compat_setfuncs((L), (l), (n))
#undef luaL_newlib
#define luaL_newlib(L, l) \
    (lua_createtable((L), 0, (int)(sizeof(l) / sizeof((l)[0]) - 1)), luaL_setfuncs((L), (l), 0))
#endif

#if LUA_VERSION_NUM < 502
#define lua_objlen_compat(L, i) lua_objlen((L), (i))
#else
#define lua_objlen_compat(L, i) lua_rawlen((L), (i))
#endif

/* Lua 5.3+ has 64-bit integers; older versions only doubles. */
#if LUA_VERSION_NUM >= 503
#define push_u64(L, v) lua_pushinteger((L), (lua_Integer)(v))
#else
#define push_u64(L, v) lua_pushnumber((L), (lua_Number)(v))
#endif

#define CLIENT_MT "pushpull.core.client"

typedef struct lclient {
    pp_client *c;
    /* debug lines the core reported, waiting for the Lua function (kept in
     * the userdata's user value): the core calls its debug hook from inside
     * libcurl's callbacks, where no Lua may run, so lines are queued here
     * and handed over when the binding call that drove the core returns */
    char *dbg;
    size_t dbg_len, dbg_cap;
    unsigned long dbg_dropped;
} lclient;

/* Lines past this wait for no Lua function: they are counted, not kept. */
#define DEBUG_QUEUE_MAX ((size_t)1 << 20)

/* ---- helpers */

static pp_client *check_client(lua_State *L)
{
    lclient *u = (lclient *)luaL_checkudata(L, 1, CLIENT_MT);
    if (u->c == NULL)
        luaL_error(L, "pushpull.core: client is closed");
    return u->c;
}

static uint32_t check_handle(lua_State *L, int idx, const char *what)
{
    lua_Integer v = luaL_checkinteger(L, idx);
    if (v <= 0 || (uint64_t)v > UINT32_MAX)
        luaL_argerror(L, idx, what);
    return (uint32_t)v;
}

#define check_job(L, idx) ((pp_job)check_handle((L), (idx), "invalid job handle"))
#define check_op(L, idx) ((pp_op)check_handle((L), (idx), "invalid operation handle"))

static void push_lstring_or_nil(lua_State *L, const char *s, size_t len)
{
    if (s != NULL)
        lua_pushlstring(L, s, len);
    else
        lua_pushnil(L);
}

static void push_string_or_nil(lua_State *L, const char *s)
{
    if (s != NULL)
        lua_pushstring(L, s);
    else
        lua_pushnil(L);
}

/* {message = ..., status = <HTTP status or nil>, body = <string or nil>} */
static void push_error(lua_State *L, const pp_error *e)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, e->message != NULL ? e->message : "unknown error");
    lua_setfield(L, -2, "message");
    if (e->http_status != 0) {
        lua_pushinteger(L, e->http_status);
        lua_setfield(L, -2, "status");
    }
    if (e->body != NULL) {
        lua_pushlstring(L, e->body, e->body_len);
        lua_setfield(L, -2, "body");
    }
}

/* An operation handle, or nil and a message when the core refused it. */
static int push_op_result(lua_State *L, pp_op op, const pp_error *err)
{
    if (op == 0) {
        lua_pushnil(L);
        push_error(L, err);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)op);
    return 1;
}

/* ---- debug lines */

#if LUA_VERSION_NUM < 502
#define get_uservalue(L, i) lua_getfenv((L), (i))
#define set_uservalue(L, i) lua_setfenv((L), (i))
#else
#define get_uservalue(L, i) lua_getuservalue((L), (i))
#define set_uservalue(L, i) lua_setuservalue((L), (i))
#endif

/* pp_config.debug: one line into the client's queue. */
static void debug_queue(void *ud, const char *line)
{
    lclient *u = (lclient *)ud;
    size_t len = strlen(line) + 1;
    if (u->dbg_len + len > u->dbg_cap) {
        size_t cap = u->dbg_cap ? u->dbg_cap : 4096;
        char *p;
        while (cap < u->dbg_len + len)
            cap *= 2;
        if (cap > DEBUG_QUEUE_MAX || (p = (char *)realloc(u->dbg, cap)) == NULL) {
            u->dbg_dropped++;
            return;
        }
        u->dbg = p;
        u->dbg_cap = cap;
    }
    memcpy(u->dbg + u->dbg_len, line, len); /* with its '\0' */
    u->dbg_len += len;
}

/* Hands the queued lines of the client at index 1 to its debug function,
 * then returns nret (the caller's results stay on top of the stack). An
 * error in the function is dropped: a debug hook must not break a call. */
static int reported(lua_State *L, int nret)
{
    lclient *u = (lclient *)lua_touserdata(L, 1);
    char *buf;
    size_t len, off;
    unsigned long dropped;
    if (u == NULL || (u->dbg_len == 0 && u->dbg_dropped == 0))
        return nret;
    /* taken first: the function may call into the client again */
    buf = u->dbg;
    len = u->dbg_len;
    dropped = u->dbg_dropped;
    u->dbg = NULL;
    u->dbg_len = u->dbg_cap = 0;
    u->dbg_dropped = 0;
    get_uservalue(L, 1);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "debug");
        for (off = 0; off < len && lua_isfunction(L, -1); off += strlen(buf + off) + 1) {
            lua_pushvalue(L, -1);
            lua_pushstring(L, buf + off);
            if (lua_pcall(L, 1, 0, 0) != 0)
                lua_pop(L, 1);
        }
        if (dropped && lua_isfunction(L, -1)) {
            lua_pushfstring(L, "%d debug lines dropped (no call handed them over)", (int)dropped);
            if (lua_pcall(L, 1, 0, 0) != 0)
                lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    free(buf);
    return nret;
}

/* ---- construction */

static const char *opt_field_string(lua_State *L, int t, const char *k)
{
    const char *s;
    lua_getfield(L, t, k); /* stays on the stack: the core copies it later */
    if (lua_isnil(L, -1))
        return NULL;
    s = lua_tostring(L, -1);
    if (s == NULL || lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "pushpull.core.new: field '%s' must be a string", k);
    return s;
}

static lua_Number opt_field_number(lua_State *L, int t, const char *k, lua_Number dflt)
{
    lua_Number v = dflt;
    lua_getfield(L, t, k);
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "pushpull.core.new: field '%s' must be a number", k);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int l_new(lua_State *L)
{
    pp_config cfg;
    pp_error err;
    lclient *u;
    pp_client *c;

    luaL_checktype(L, 1, LUA_TTABLE);
    pp_config_init(&cfg);

    {
        const char *s;
        if ((s = opt_field_string(L, 1, "base_url")) != NULL)
            cfg.base_url = s;
        if ((s = opt_field_string(L, 1, "username")) != NULL)
            cfg.username = s;
        if ((s = opt_field_string(L, 1, "password")) != NULL)
            cfg.password = s;
        if ((s = opt_field_string(L, 1, "user_agent")) != NULL)
            cfg.user_agent = s;
    }
    cfg.timeout_ms = (long)opt_field_number(L, 1, "timeout_ms", (lua_Number)cfg.timeout_ms);
    cfg.connect_timeout_ms =
        (long)opt_field_number(L, 1, "connect_timeout_ms", (lua_Number)cfg.connect_timeout_ms);
    cfg.max_connections =
        (int)opt_field_number(L, 1, "max_connections", (lua_Number)cfg.max_connections);
    cfg.max_retries = (int)opt_field_number(L, 1, "max_retries", (lua_Number)cfg.max_retries);
    cfg.retry_base_ms =
        (long)opt_field_number(L, 1, "retry_base_ms", (lua_Number)cfg.retry_base_ms);
    cfg.retry_max_ms = (long)opt_field_number(L, 1, "retry_max_ms", (lua_Number)cfg.retry_max_ms);
    cfg.batch_size = (int)opt_field_number(L, 1, "batch_size", (lua_Number)cfg.batch_size);
    cfg.max_buffered = (size_t)opt_field_number(L, 1, "max_buffered", (lua_Number)cfg.max_buffered);
    {
        const char *s = opt_field_string(L, 1, "spool_dir");
        if (s != NULL)
            cfg.spool_dir = s;
        if ((s = opt_field_string(L, 1, "journal")) != NULL)
            cfg.journal = s;
        /* a rediss:// journal's TLS (pushpull.new's redis_tls) */
        cfg.journal_tls.ca_file = opt_field_string(L, 1, "tls_ca_file");
        cfg.journal_tls.cert_file = opt_field_string(L, 1, "tls_cert_file");
        cfg.journal_tls.key_file = opt_field_string(L, 1, "tls_key_file");
        lua_getfield(L, 1, "tls_insecure");
        cfg.journal_tls.insecure = lua_toboolean(L, -1);
        lua_pop(L, 1);
        cfg.lease_ms = (long)opt_field_number(L, 1, "lease_ms", 0);
        cfg.retention_ms = (long)opt_field_number(L, 1, "retention_ms", 0);
    }
    cfg.poll.first_ms =
        (long)opt_field_number(L, 1, "poll_first_ms", (lua_Number)cfg.poll.first_ms);
    cfg.poll.min_ms = (long)opt_field_number(L, 1, "poll_min_ms", (lua_Number)cfg.poll.min_ms);
    cfg.poll.max_ms = (long)opt_field_number(L, 1, "poll_max_ms", (lua_Number)cfg.poll.max_ms);
    cfg.poll.factor = (double)opt_field_number(L, 1, "poll_factor", (lua_Number)cfg.poll.factor);
    lua_getfield(L, 1, "poll_fetch");
    if (!lua_isnil(L, -1))
        cfg.poll.fetch = lua_toboolean(L, -1) ? 1 : 0;
    lua_pop(L, 1);

    u = (lclient *)lua_newuserdata(L, sizeof *u);
    memset(u, 0, sizeof *u);
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    lua_getfield(L, 1, "debug");
    if (lua_isfunction(L, -1)) {
        cfg.debug = debug_queue;
        cfg.debug_ud = u;
        lua_createtable(L, 0, 1);
        lua_insert(L, -2);
        lua_setfield(L, -2, "debug");
        set_uservalue(L, -2);
    } else {
        if (lua_toboolean(L, -1))
            cfg.debug = pp_debug_stderr; /* debug = true */
        lua_pop(L, 1);
    }

    memset(&err, 0, sizeof err);
    c = pp_client_new(&cfg, &err);
    if (c == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, err.message != NULL ? err.message : "cannot create client");
        return 2;
    }
    u->c = c;
    return 1;
}

static int l_close(lua_State *L)
{
    lclient *u = (lclient *)luaL_checkudata(L, 1, CLIENT_MT);
    if (u->c != NULL) {
        pp_client_free(u->c);
        u->c = NULL;
    }
    return reported(L, 0);
}

static int l_gc(lua_State *L)
{
    lclient *u = (lclient *)luaL_checkudata(L, 1, CLIENT_MT);
    if (u->c != NULL) {
        pp_client_free(u->c);
        u->c = NULL;
    }
    free(u->dbg);
    u->dbg = NULL;
    u->dbg_len = u->dbg_cap = 0;
    return 0;
}

static int l_tostring(lua_State *L)
{
    lclient *u = (lclient *)luaL_checkudata(L, 1, CLIENT_MT);
    if (u->c == NULL)
        lua_pushstring(L, "pushpull.core.client (closed)");
    else
        lua_pushfstring(L, "pushpull.core.client (%p)", (void *)u->c);
    return 1;
}

/* ---- submitting and requests */

static void push_op_jobs(lua_State *L, pp_client *c, pp_op op)
{
    size_t n = 0, i;
    const pp_job *jobs = pp_op_jobs(c, op, &n);
    lua_createtable(L, (int)n, 0);
    for (i = 0; jobs != NULL && i < n; i++) {
        lua_pushinteger(L, (lua_Integer)jobs[i]);
        lua_rawseti(L, -2, (int)(i + 1));
    }
}

/* A list of journal keys at idx: a userdata array the GC frees. */
static int64_t *check_keys(lua_State *L, int idx, size_t *n)
{
    size_t i;
    int64_t *keys;
    luaL_checktype(L, idx, LUA_TTABLE);
    *n = lua_objlen_compat(L, idx);
    keys = (int64_t *)lua_newuserdata(L, (*n ? *n : 1) * sizeof *keys);
    for (i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, (int)(i + 1));
        keys[i] = (int64_t)luaL_checknumber(L, -1);
        lua_pop(L, 1);
    }
    return keys;
}

/* submit(json[, {results_dir, results_type, tag, replaces}]) -> op, {job, ...} | nil, err */
static int l_submit(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t len;
    const char *json = luaL_checklstring(L, 2, &len);
    pp_submit_opts opts;
    pp_error err;
    pp_op op;

    memset(&opts, 0, sizeof opts);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        opts.results_dir = opt_field_string(L, 3, "results_dir");
        opts.results_type = opt_field_string(L, 3, "results_type");
        opts.tag = opt_field_string(L, 3, "tag");
        lua_getfield(L, 3, "replaces");
        if (!lua_isnil(L, -1))
            opts.replaces = check_keys(L, lua_gettop(L), &opts.nreplaces);
    }
    memset(&err, 0, sizeof err);
    op = pp_submit(c, json, len, &opts, &err);
    if (op == 0) {
        lua_pushnil(L);
        if (err.message == NULL)
            err.message = "submission refused";
        push_error(L, &err);
        return reported(L, 2);
    }
    lua_pushinteger(L, (lua_Integer)op);
    push_op_jobs(L, c, op);
    return reported(L, 2);
}

static int l_op_jobs(lua_State *L)
{
    pp_client *c = check_client(L);
    push_op_jobs(L, c, check_op(L, 2));
    return 1;
}

static int l_attach(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *id = luaL_checkstring(L, 2);
    pp_error err;
    pp_job job;
    memset(&err, 0, sizeof err);
    job = pp_attach(c, id, &err);
    if (job == 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.message != NULL ? err.message : "cannot attach the job");
        return reported(L, 2);
    }
    lua_pushinteger(L, (lua_Integer)job);
    return reported(L, 1);
}

static int l_watch(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushboolean(L, pp_watch(c, check_job(L, 2), NULL) == 0);
    return reported(L, 1);
}

static int l_refresh(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_error err;
    memset(&err, 0, sizeof err);
    return reported(L, push_op_result(L, pp_refresh(c, check_job(L, 2), &err), &err));
}

/* fetch(job, type|nil, path|nil) -> op | nil, msg */
static int l_fetch(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_job job = check_job(L, 2);
    const char *type = luaL_optstring(L, 3, NULL);
    const char *path = luaL_optstring(L, 4, NULL);
    pp_error err;
    memset(&err, 0, sizeof err);
    return reported(L, push_op_result(L, pp_fetch(c, job, type, path, &err), &err));
}

/* request(method, path, body|nil) -> op | nil, msg */
static int l_request(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *method = luaL_checkstring(L, 2);
    const char *path = luaL_checkstring(L, 3);
    size_t len = 0;
    const char *body = luaL_optlstring(L, 4, NULL, &len);
    pp_error err;
    memset(&err, 0, sizeof err);
    return reported(L, push_op_result(L, pp_request(c, method, path, body, len, &err), &err));
}

/* ---- the journal */

/* {states = <bit set>, tag = ..., all = bool} at idx (optional). */
static void check_query(lua_State *L, int idx, pp_journal_query *q)
{
    memset(q, 0, sizeof *q);
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    q->states = (unsigned)opt_field_number(L, idx, "states", 0);
    q->tag = opt_field_string(L, idx, "tag");
    lua_getfield(L, idx, "all");
    q->all = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

static int push_query_op(lua_State *L,
                         pp_op (*call)(pp_client *, const pp_journal_query *, pp_error *))
{
    pp_client *c = check_client(L);
    pp_journal_query q;
    pp_error err;
    check_query(L, 2, &q);
    memset(&err, 0, sizeof err);
    return push_op_result(L, call(c, &q, &err), &err);
}

/* journal_list([query]) -> op | nil, err */
static int l_journal_list(lua_State *L)
{
    return push_query_op(L, pp_journal_list);
}

/* resume([query]) -> op | nil, err */
static int l_resume(lua_State *L)
{
    return push_query_op(L, pp_resume);
}

/* journal_ready() -> 1 ready, 0 not yet, -1 no journal */
static int l_journal_ready(lua_State *L)
{
    lua_pushinteger(L, pp_journal_ready(check_client(L)));
    return 1;
}

/* journal_error() -> why a Redis journal cannot be reached ("" if no
 * reason), and whether TLS refused certificates (no retry mends it) */
static int l_journal_error(lua_State *L)
{
    int refused = 0;
    lua_pushstring(L, pp_journal_error(check_client(L), &refused));
    lua_pushboolean(L, refused);
    return 2;
}

/* fleet_claim(tag, max, pending) -> op | nil, err */
static int l_fleet_claim(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *tag = luaL_optstring(L, 2, NULL);
    long max = (long)luaL_optinteger(L, 3, 16);
    int pending = lua_toboolean(L, 4);
    pp_error err;
    memset(&err, 0, sizeof err);
    return push_op_result(L, pp_fleet_claim(c, tag, max, pending, &err), &err);
}

/* fleet_release(job, handed) -> true | false */
static int l_fleet_release(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushboolean(L, pp_fleet_release(c, check_job(L, 2), lua_toboolean(L, 3)) == 0);
    return 1;
}

/* fleet_flush() -> sends the releases waiting for the engine step */
static int l_fleet_flush(lua_State *L)
{
    pp_fleet_flush(check_client(L));
    return 0;
}

/* forget(tag, force) -> op | nil, err */
static int l_forget(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *tag = luaL_optstring(L, 2, NULL);
    pp_error err;
    memset(&err, 0, sizeof err);
    return push_op_result(L, pp_journal_forget(c, tag, lua_toboolean(L, 3), &err), &err);
}

/* fleet_holds(job) -> true while this process surely holds its claim */
static int l_fleet_holds(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushboolean(L, pp_fleet_holds(c, check_job(L, 2)));
    return 1;
}

/* fleet_nap(ms) -> true: the client counts as busy for ms (a timer) */
static int l_fleet_nap(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushboolean(L, pp_fleet_nap(c, (long)luaL_checkinteger(L, 2)) == 0);
    return 1;
}

/* op_remaining(op) -> n (-1: not a fleet claim) */
static int l_op_remaining(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushinteger(L, pp_op_remaining(c, check_op(L, 2)));
    return 1;
}

/* claim(job | {job, ...}) -> op | nil, err */
static int l_claim(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t n, i;
    pp_job *jobs;
    pp_error err;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        /* one job, no table: completed() claims each job it gives */
        pp_job one = check_job(L, 2);
        memset(&err, 0, sizeof err);
        return push_op_result(L, pp_claim(c, &one, 1, &err), &err);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    n = lua_objlen_compat(L, 2);
    jobs = (pp_job *)lua_newuserdata(L, (n ? n : 1) * sizeof *jobs); /* freed by the GC */
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, 2, (int)(i + 1));
        jobs[i] = (pp_job)luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
    memset(&err, 0, sizeof err);
    return push_op_result(L, pp_claim(c, jobs, n, &err), &err);
}

/* handed(job) -> true | nil, err: this process is done with a job claim()
 * gave it */
static int l_handed(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_error err;
    memset(&err, 0, sizeof err);
    if (pp_journal_handed(c, check_job(L, 2), &err) < 0) {
        lua_pushnil(L);
        push_error(L, &err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* dismiss({key, ...}) -> op | nil, err */
static int l_dismiss(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t n;
    int64_t *keys = check_keys(L, 2, &n);
    pp_error err;
    memset(&err, 0, sizeof err);
    return push_op_result(L, pp_journal_dismiss(c, keys, n, &err), &err);
}

static void set_str(lua_State *L, const char *name, const char *v)
{
    if (v == NULL)
        return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, name);
}

/* op_handed(op, i) -> whether entry i of a finished journal operation
 * is handed (pp_claim: this process got the job) */
static int l_op_handed(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t n = 0;
    const pp_journal_entry *v = pp_op_entries(c, check_op(L, 2), &n);
    lua_Integer i = luaL_checkinteger(L, 3);
    lua_pushboolean(L, v != NULL && i >= 1 && (size_t)i <= n && v[i - 1].handed);
    return 1;
}

/* op_entries(op) -> {{job, id, state, sent, handed, tag, params,
 * results_path, error}, ...} */
static int l_op_entries(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t n = 0, i;
    const pp_journal_entry *v = pp_op_entries(c, check_op(L, 2), &n);
    lua_createtable(L, (int)n, 0);
    for (i = 0; v != NULL && i < n; i++) {
        lua_createtable(L, 0, 10);
        push_u64(L, v[i].key);
        lua_setfield(L, -2, "key");
        if (v[i].job) {
            lua_pushinteger(L, (lua_Integer)v[i].job);
            lua_setfield(L, -2, "job");
        }
        lua_pushinteger(L, (lua_Integer)v[i].state);
        lua_setfield(L, -2, "state");
        lua_pushboolean(L, v[i].sent);
        lua_setfield(L, -2, "sent");
        lua_pushboolean(L, v[i].handed);
        lua_setfield(L, -2, "handed");
        set_str(L, "id", v[i].id);
        set_str(L, "tag", v[i].tag);
        set_str(L, "params", v[i].params);
        set_str(L, "results_path", v[i].results_path);
        set_str(L, "error", v[i].error);
        lua_rawseti(L, -2, (int)(i + 1));
    }
    return 1;
}

/* ---- operations */

static int l_op_done(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushboolean(L, pp_op_done(c, check_op(L, 2)));
    return 1;
}

static int l_op_status(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushinteger(L, pp_op_status(c, check_op(L, 2)));
    return 1;
}

static int l_op_body(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t len = 0;
    const char *body = pp_op_body(c, check_op(L, 2), &len);
    push_lstring_or_nil(L, body, len);
    return 1;
}

static int l_op_error(lua_State *L)
{
    pp_client *c = check_client(L);
    const pp_error *e = pp_op_error(c, check_op(L, 2));
    if (e == NULL)
        lua_pushnil(L);
    else
        push_error(L, e);
    return 1;
}

static int l_op_free(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_op_free(c, check_op(L, 2));
    return 0;
}

/* ---- jobs */

static int l_job_state(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushinteger(L, (lua_Integer)pp_job_state(c, check_job(L, 2)));
    return 1;
}

static int l_job_id(lua_State *L)
{
    pp_client *c = check_client(L);
    push_string_or_nil(L, pp_job_id(c, check_job(L, 2)));
    return 1;
}

static int l_job_info(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t len = 0;
    const char *s = pp_job_info(c, check_job(L, 2), &len);
    push_lstring_or_nil(L, s, len);
    return 1;
}

static int l_job_results(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t len = 0;
    const char *s = pp_job_results(c, check_job(L, 2), &len);
    push_lstring_or_nil(L, s, len);
    return 1;
}

static int l_job_error(lua_State *L)
{
    pp_client *c = check_client(L);
    const pp_error *e = pp_job_error(c, check_job(L, 2));
    if (e == NULL)
        lua_pushnil(L);
    else
        push_error(L, e);
    return 1;
}

/* job_save_results(job, path) -> true | nil, err */
static int l_job_save_results(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_job job = check_job(L, 2);
    const char *path = luaL_checkstring(L, 3);
    pp_error err;
    memset(&err, 0, sizeof err);
    if (pp_job_save_results(c, job, path, &err) < 0) {
        lua_pushnil(L);
        push_error(L, &err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* write_file(path, data) -> true | nil, err: as result files are written */
static int l_write_file(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *path = luaL_checkstring(L, 2);
    size_t len = 0;
    const char *data = luaL_checklstring(L, 3, &len);
    pp_error err;
    memset(&err, 0, sizeof err);
    if (pp_write_file(c, path, data, len, &err) < 0) {
        lua_pushnil(L);
        push_error(L, &err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* job_results_path(job) -> path, temporary | nil */
static int l_job_results_path(lua_State *L)
{
    pp_client *c = check_client(L);
    int temporary = 0;
    const char *p = pp_job_results_path(c, check_job(L, 2), &temporary);
    push_string_or_nil(L, p);
    lua_pushboolean(L, temporary);
    return 2;
}

static int l_job_drop_results(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_job_drop_results(c, check_job(L, 2));
    return 0;
}

static int l_job_release(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_job_release(c, check_job(L, 2));
    return reported(L, 0);
}

/* callback_request(peer, method, content_length, body, max_body)
 * -> status, answer body: the listener's rules, for a host's own server */
static int l_callback_request(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *peer = luaL_optstring(L, 2, NULL);
    const char *method = luaL_checkstring(L, 3);
    long long length = (long long)luaL_optnumber(L, 4, -1);
    size_t len = 0;
    const char *body = luaL_optlstring(L, 5, NULL, &len);
    size_t max_body = (size_t)luaL_optnumber(L, 6, 0);
    const char *answer = NULL;
    int status = pp_callback_request(c, peer, method, length, body, len, max_body, &answer);
    lua_pushinteger(L, status);
    lua_pushstring(L, answer);
    return reported(L, 2);
}

static int l_feed_callback(lua_State *L)
{
    pp_client *c = check_client(L);
    size_t len;
    const char *json = luaL_checklstring(L, 2, &len);
    int rc = pp_feed_callback(c, json, len);
    /* true when it named a job of this client; then 0 (known), 1 (well
     * formed, no job of this client) or -1 (not a job object) */
    lua_pushboolean(L, rc == 0);
    lua_pushinteger(L, rc);
    return reported(L, 2);
}

/* ---- the callback listener */

/* The strings of the list at index idx (a sequence), for allow lists. The
 * array is a userdata on the stack, collected with it. */
static const char *const *check_string_list(lua_State *L, int idx, const char *what, size_t *n)
{
    size_t len = (size_t)lua_objlen_compat(L, idx), i;
    const char **v = (const char **)lua_newuserdata(L, (len ? len : 1) * sizeof *v);
    for (i = 0; i < len; i++) {
        lua_rawgeti(L, idx, (int)(i + 1));
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "pushpull.core: %s[%d] must be a string", what, (int)(i + 1));
        v[i] = lua_tostring(L, -1);
        /* the list table keeps the string alive */
        lua_pop(L, 1);
    }
    *n = len;
    return v;
}

/* listen{bind, port, path, allow = {ip, ...} | nil, max_body, public_url,
 *        max_connections, safety_min_ms, safety_factor}
 * -> port, url | nil, err */
static int l_listen(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_listen_config cfg;
    pp_error err;
    const char *s;

    luaL_checktype(L, 2, LUA_TTABLE);
    pp_listen_config_init(&cfg);
    if ((s = opt_field_string(L, 2, "bind")) != NULL)
        cfg.bind = s;
    if ((s = opt_field_string(L, 2, "path")) != NULL)
        cfg.path = s;
    if ((s = opt_field_string(L, 2, "public_url")) != NULL)
        cfg.public_url = s;
    cfg.port = (int)opt_field_number(L, 2, "port", 0);
    cfg.max_body = (size_t)opt_field_number(L, 2, "max_body", (lua_Number)cfg.max_body);
    cfg.max_connections =
        (unsigned)opt_field_number(L, 2, "max_connections", (lua_Number)cfg.max_connections);
    cfg.safety_min_ms =
        (long)opt_field_number(L, 2, "safety_min_ms", (lua_Number)cfg.safety_min_ms);
    cfg.safety_factor =
        (double)opt_field_number(L, 2, "safety_factor", (lua_Number)cfg.safety_factor);
    lua_getfield(L, 2, "allow");
    if (lua_isboolean(L, -1) && !lua_toboolean(L, -1)) {
        cfg.allow_any = 1; /* allow = false: every sender, knowingly */
    } else if (!lua_isnil(L, -1)) {
        int t = lua_gettop(L);
        luaL_checktype(L, t, LUA_TTABLE);
        cfg.allow = check_string_list(L, t, "allow", &cfg.allow_count);
    }
    memset(&err, 0, sizeof err);
    if (pp_listen(c, &cfg, &err) < 0) {
        lua_pushnil(L);
        push_error(L, &err);
        return reported(L, 2);
    }
    lua_pushinteger(L, pp_listen_port(c));
    lua_pushstring(L, pp_listen_url(c));
    return reported(L, 2);
}

/* listen_allow({ip, ...} | nil) -> true | nil, err */
static int l_listen_allow(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *const *ips = NULL;
    size_t n = 0;
    pp_error err;
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        ips = check_string_list(L, 2, "allow", &n);
    }
    memset(&err, 0, sizeof err);
    if (pp_listen_allow(c, ips, n, &err) < 0) {
        lua_pushnil(L);
        push_error(L, &err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* listening() -> port, url | nil */
static int l_listening(lua_State *L)
{
    pp_client *c = check_client(L);
    if (pp_listen_port(c) == 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, pp_listen_port(c));
    lua_pushstring(L, pp_listen_url(c));
    return 2;
}

static int l_listen_stop(lua_State *L)
{
    pp_listen_stop(check_client(L));
    return reported(L, 0);
}

/* expect_callbacks(url | nil, safety_min_ms, safety_factor) -> true | nil, err */
static int l_expect_callbacks(lua_State *L)
{
    pp_client *c = check_client(L);
    const char *url = luaL_optstring(L, 2, NULL);
    long min_ms = (long)luaL_optnumber(L, 3, 0);
    double factor = (double)luaL_optnumber(L, 4, 0);
    pp_error err;
    memset(&err, 0, sizeof err);
    if (pp_expect_callbacks(c, url, min_ms, factor, &err) < 0) {
        lua_pushnil(L);
        push_error(L, &err);
        return reported(L, 2);
    }
    lua_pushboolean(L, 1);
    return reported(L, 1);
}

/* expected_callback_url() -> url | nil */
static int l_expected_callback_url(lua_State *L)
{
    const char *url = pp_expected_callback_url(check_client(L));
    if (url)
        lua_pushstring(L, url);
    else
        lua_pushnil(L);
    return 1;
}

/* ---- driving */

static int l_socket_action(lua_State *L)
{
    pp_client *c = check_client(L);
    int fd = (int)luaL_checkinteger(L, 2);
    int events = (int)luaL_optinteger(L, 3, 0);
    lua_pushboolean(L, pp_socket_action(c, fd, events, NULL) == 0);
    return reported(L, 1);
}

static int l_timeout_ms(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushinteger(L, (lua_Integer)pp_timeout_ms(c));
    return 1;
}

/* take_fd_changes() -> {{fd, events}, ...} (events 0: stop watching) */
static int l_take_fd_changes(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_fd_change buf[64];
    size_t n, i;
    int k = 0;

    lua_newtable(L);
    do {
        n = pp_take_fd_changes(c, buf, sizeof buf / sizeof buf[0]);
        for (i = 0; i < n; i++) {
            lua_createtable(L, 2, 0);
            lua_pushinteger(L, buf[i].fd);
            lua_rawseti(L, -2, 1);
            lua_pushinteger(L, buf[i].events);
            lua_rawseti(L, -2, 2);
            lua_rawseti(L, -2, ++k);
        }
    } while (n == sizeof buf / sizeof buf[0]);
    return 1;
}

static int l_perform(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushinteger(L, pp_perform(c, NULL));
    return reported(L, 1);
}

/* wait(ms): the one blocking call */
static int l_wait(lua_State *L)
{
    pp_client *c = check_client(L);
    int ms = (int)luaL_optinteger(L, 2, 0);
    lua_pushinteger(L, pp_wait(c, ms < 0 ? 0 : ms, NULL));
    return reported(L, 1);
}

static int l_busy(lua_State *L)
{
    pp_client *c = check_client(L);
    lua_pushinteger(L, (lua_Integer)pp_busy(c));
    return 1;
}

/* take_events([jobs, ops]) -> {job, state, job, state, ...}, {op, op, ...},
 * njobs, nops: two flat arrays in the order the core reported them, and how
 * many entries of each are this call's. Given two tables, it fills them
 * from index 1 and returns them (entries past the counts are left over
 * from earlier calls): a host that steps often makes no garbage. */
static int l_take_events(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_event buf[256];
    size_t n, i;
    int nj = 0, no = 0;

    if (lua_istable(L, 2) && lua_istable(L, 3)) {
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
    } else {
        lua_newtable(L); /* jobs */
        lua_newtable(L); /* ops */
    }
    do {
        n = pp_take_events(c, buf, sizeof buf / sizeof buf[0]);
        for (i = 0; i < n; i++) {
            if (buf[i].kind == PP_EVENT_JOB) {
                lua_pushinteger(L, (lua_Integer)buf[i].job);
                lua_rawseti(L, -3, ++nj);
                lua_pushinteger(L, (lua_Integer)buf[i].state);
                lua_rawseti(L, -3, ++nj);
            } else if (buf[i].kind == PP_EVENT_OP) {
                lua_pushinteger(L, (lua_Integer)buf[i].op);
                lua_rawseti(L, -2, ++no);
            }
        }
    } while (n == sizeof buf / sizeof buf[0]);
    lua_pushinteger(L, nj);
    lua_pushinteger(L, no);
    return 4;
}

static int l_stats(lua_State *L)
{
    pp_client *c = check_client(L);
    pp_stats st;
    memset(&st, 0, sizeof st);
    pp_get_stats(c, &st);
    lua_createtable(L, 0, 7);
    push_u64(L, st.requests);
    lua_setfield(L, -2, "requests");
    push_u64(L, st.retries);
    lua_setfield(L, -2, "retries");
    push_u64(L, st.submitted);
    lua_setfield(L, -2, "submitted");
    push_u64(L, st.polls);
    lua_setfield(L, -2, "polls");
    push_u64(L, st.bytes_in);
    lua_setfield(L, -2, "bytes_in");
    push_u64(L, st.callbacks_received);
    lua_setfield(L, -2, "callbacks_received");
    push_u64(L, st.callbacks_rejected);
    lua_setfield(L, -2, "callbacks_rejected");
    return 1;
}

/* ---- module functions */

/* Monotonic seconds, for deadlines. */
static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static int l_state_name(lua_State *L)
{
    push_string_or_nil(L, pp_state_name((pp_state)luaL_checkinteger(L, 1)));
    return 1;
}

static int l_state_is_final(lua_State *L)
{
    lua_pushboolean(L, pp_state_is_final((pp_state)luaL_checkinteger(L, 1)));
    return 1;
}

static const luaL_Reg client_methods[] = {
    {"close", l_close},
    {"submit", l_submit},
    {"op_jobs", l_op_jobs},
    {"journal_list", l_journal_list},
    {"resume", l_resume},
    {"journal_ready", l_journal_ready},
    {"journal_error", l_journal_error},
    {"fleet_claim", l_fleet_claim},
    {"fleet_release", l_fleet_release},
    {"fleet_holds", l_fleet_holds},
    {"fleet_nap", l_fleet_nap},
    {"fleet_flush", l_fleet_flush},
    {"forget", l_forget},
    {"op_remaining", l_op_remaining},
    {"claim", l_claim},
    {"handed", l_handed},
    {"dismiss", l_dismiss},
    {"op_entries", l_op_entries},
    {"op_handed", l_op_handed},
    {"attach", l_attach},
    {"watch", l_watch},
    {"refresh", l_refresh},
    {"fetch", l_fetch},
    {"request", l_request},
    {"op_done", l_op_done},
    {"op_status", l_op_status},
    {"op_body", l_op_body},
    {"op_error", l_op_error},
    {"op_free", l_op_free},
    {"job_state", l_job_state},
    {"job_id", l_job_id},
    {"job_info", l_job_info},
    {"job_results", l_job_results},
    {"job_error", l_job_error},
    {"job_save_results", l_job_save_results},
    {"write_file", l_write_file},
    {"job_results_path", l_job_results_path},
    {"job_drop_results", l_job_drop_results},
    {"job_release", l_job_release},
    {"feed_callback", l_feed_callback},
    {"callback_request", l_callback_request},
    {"listen", l_listen},
    {"listen_allow", l_listen_allow},
    {"listening", l_listening},
    {"listen_stop", l_listen_stop},
    {"expect_callbacks", l_expect_callbacks},
    {"expected_callback_url", l_expected_callback_url},
    {"socket_action", l_socket_action},
    {"timeout_ms", l_timeout_ms},
    {"take_fd_changes", l_take_fd_changes},
    {"perform", l_perform},
    {"wait", l_wait},
    {"busy", l_busy},
    {"take_events", l_take_events},
    {"stats", l_stats},
    {NULL, NULL},
};

static const luaL_Reg module_functions[] = {
    {"new", l_new},
    {"now", l_now},
    {"state_name", l_state_name},
    {"state_is_final", l_state_is_final},
    {NULL, NULL},
};

static void set_int(lua_State *L, const char *name, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, name);
}

#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_pushpull_core(lua_State *L);

int luaopen_pushpull_core(lua_State *L)
{
    int s;

    if (luaL_newmetatable(L, CLIENT_MT)) {
        luaL_newlib(L, client_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
#if LUA_VERSION_NUM >= 504
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
#endif
    }
    lua_pop(L, 1);

    luaL_newlib(L, module_functions);

    /* states: core.PENDING == 2, core.states[2] == "pending", core.states.pending == 2 */
    lua_createtable(L, PP_STATE_COUNT, PP_STATE_COUNT);
    for (s = 0; s < PP_STATE_COUNT; s++) {
        const char *name = pp_state_name((pp_state)s);
        if (name == NULL)
            continue;
        lua_pushstring(L, name);
        lua_rawseti(L, -2, s);
        lua_pushinteger(L, s);
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, -2, "states");

    set_int(L, "NEW", PP_NEW);
    set_int(L, "SUBMITTING", PP_SUBMITTING);
    set_int(L, "PENDING", PP_PENDING);
    set_int(L, "DONE", PP_DONE);
    set_int(L, "FAULTED", PP_FAULTED);
    set_int(L, "FETCHING", PP_FETCHING);
    set_int(L, "FETCHED", PP_FETCHED);
    set_int(L, "REJECTED", PP_REJECTED);
    set_int(L, "UNKNOWN", PP_UNKNOWN);
    set_int(L, "EXPIRED", PP_EXPIRED);
    set_int(L, "FAILED", PP_FAILED);
    set_int(L, "STATE_COUNT", PP_STATE_COUNT);
    set_int(L, "WANT_READ", PP_WANT_READ);
    set_int(L, "WANT_WRITE", PP_WANT_WRITE);
    set_int(L, "EV_ERROR", PP_EV_ERROR);
    set_int(L, "SOCKET_TIMEOUT", PP_SOCKET_TIMEOUT);
    set_int(L, "BATCH_MAX", PP_BATCH_MAX);
    lua_pushstring(L, PP_VERSION);
    lua_setfield(L, -2, "VERSION");
    return 1;
}
