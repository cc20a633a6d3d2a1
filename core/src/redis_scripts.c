/* The fleet store's logic, run inside Redis: each operation is one script,
 * so it is atomic, costs one round trip, and sees the server's clock (a
 * lease means the same to every host, whatever their clocks say).
 *
 * KEYS[1] is always the tag's meta hash "<prefix>:{<tag>}:meta"; the other
 * keys are built from its prefix, so every key a script touches carries
 * the same hash tag and lives in one slot (Redis Cluster checks the
 * declared key; the others are in its slot by construction). The layout
 * is in core/README.md, "Redis store".
 *
 * A job's place follows its state: pending jobs sit in the poll queue
 * (`pollq`, scored by when they may next be taken), finished ones (done
 * or final) in `ready` until handed out (scored by when they may be
 * claimed: a claim or hold re-scores them to the lease's end, so an
 * expired lease needs no sweeper). The transition table is state.c's.
 *
 * Retention: a job in a final state that was handed out for good is
 * retired -- its hash gets an expiry (the `retention` the writing process
 * passes, in ms; 0 keeps it) -- and so is its submission's hash once all
 * of its jobs are (counted in the submission's `retired`). A hash expires
 * by itself, but the job's members of `jobs` and `s:<state>` and the
 * submission's of `subs` would stay: `exp` scores each retired key by when
 * it expires ("j:<key>", "s:<sid>"), and the tag's claims and listings
 * remove what is due, a page at a time (prune). Sorted by expiry rather
 * than cleaned on sight in listings, so a tag that is never listed does
 * not keep its members; a listing still skips (and removes) a member
 * whose hash is gone before its entry came due. Nothing pending and
 * nothing not handed out is ever retired. */
#include "redis.h"

#include <stddef.h>

/* The scripts keep one line of Lua a line. */
/* clang-format off */
#define PRELUDE \
    "local meta = KEYS[1]\n"                                                                \
    "local base = string.sub(meta, 1, -5)\n"                                                \
    "local ready, pollq = base .. 'ready', base .. 'pollq'\n"                               \
    "local tm = redis.call('TIME')\n"                                                       \
    "local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)\n"             \
    "local final = {fetched = true, faulted = true, rejected = true, unknown = true,\n"     \
    "  expired = true, failed = true}\n"                                                    \
    "local function finished(s) return s == 'done' or final[s] == true end\n"               \
    "local exp = base .. 'exp'\n"                                                           \
    "local function retire(jk, key, ms, state, handed)\n"                                  \
    "  if ms <= 0 or not final[state] or\n"                                                 \
    "    not (handed or redis.call('HEXISTS', jk, 'handed') == 1) then return end\n"       \
    "  local fresh = redis.call('PTTL', jk) < 0\n"                                          \
    "  redis.call('PEXPIRE', jk, ms)\n"                                                     \
    "  redis.call('ZADD', exp, now + ms, 'j:' .. key)\n"                                    \
    "  local sid = redis.call('HGET', jk, 'sub')\n"                                         \
    "  local sk = base .. 'sub:' .. tostring(sid)\n"                                        \
    "  local n = sid and redis.call('HGET', sk, 'jobs')\n"                                  \
    "  if not n then return end\n"                                                          \
    "  local r = fresh and redis.call('HINCRBY', sk, 'retired', 1) or\n"                    \
    "    tonumber(redis.call('HGET', sk, 'retired')) or 0\n"                                \
    "  if r >= tonumber(n) then\n"                                                          \
    "    redis.call('PEXPIRE', sk, ms)\n"                                                   \
    "    redis.call('ZADD', exp, now + ms, 's:' .. sid)\n"                                  \
    "  end\n"                                                                               \
    "end\n"                                                                                 \
    "local function unretire(jk, key)\n"                                                    \
    "  if redis.call('PERSIST', jk) == 0 then return end\n"                                 \
    "  redis.call('ZREM', exp, 'j:' .. key)\n"                                              \
    "  local sid = redis.call('HGET', jk, 'sub')\n"                                         \
    "  local sk = base .. 'sub:' .. tostring(sid)\n"                                        \
    "  if not sid or redis.call('EXISTS', sk) == 0 then return end\n"                       \
    "  redis.call('HINCRBY', sk, 'retired', -1)\n"                                          \
    "  if redis.call('PERSIST', sk) == 1 then redis.call('ZREM', exp, 's:' .. sid) end\n"   \
    "end\n"                                                                                 \
    "local function forget_job(key)\n"                                                      \
    "  redis.call('SREM', base .. 'jobs', key)\n"                                           \
    "  for s in pairs(final) do redis.call('SREM', base .. 's:' .. s, key) end\n"           \
    "  redis.call('ZREM', exp, 'j:' .. key)\n"                                              \
    "end\n"                                                                                 \
    "local function prune()\n"                                                              \
    "  for _, m in ipairs(redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 100)) do\n" \
    "    local id = string.sub(m, 3)\n"                                                     \
    "    local job = string.sub(m, 1, 1) == 'j'\n"                                          \
    "    local left = redis.call('PTTL', base .. (job and 'job:' or 'sub:') .. id)\n"       \
    "    if left > 0 then\n"                                                                \
    "      redis.call('ZADD', exp, now + left, m)\n"                                        \
    "    else\n"                                                                            \
    "      if left == -2 and job then forget_job(id) end\n"                                 \
    "      if left == -2 and not job then redis.call('ZREM', base .. 'subs', id) end\n"     \
    "      redis.call('ZREM', exp, m)\n"                                                    \
    "    end\n"                                                                             \
    "  end\n"                                                                               \
    "end\n"                                                                                 \
    "local function held(jk, key)\n"                                                        \
    "  local h = redis.call('HGET', jk, 'holder')\n"                                        \
    "  local sc = redis.call('ZSCORE', ready, key)\n"                                       \
    "  if h and sc and tonumber(sc) > now then return h end\n"                              \
    "  return nil\n"                                                                        \
    "end\n"                                                                                 \
    "local function place(jk, key, state, token, poll_ms, hold_ms)\n"                       \
    "  if state == 'pending' then\n"                                                        \
    "    if poll_ms > 0 then\n"                                                             \
    "      redis.call('HSET', jk, 'poller', token)\n"                                       \
    "      redis.call('ZADD', pollq, now + poll_ms, key)\n"                                 \
    "    else\n"                                                                            \
    "      redis.call('ZADD', pollq, 'NX', now, key)\n"                                     \
    "    end\n"                                                                             \
    "  else\n"                                                                              \
    "    redis.call('ZREM', pollq, key)\n"                                                  \
    "    redis.call('HDEL', jk, 'poller')\n"                                                \
    "  end\n"                                                                               \
    "  if redis.call('HEXISTS', jk, 'handed') == 1 or held(jk, key) then return end\n"      \
    "  if not finished(state) then\n"                                                       \
    "    redis.call('HDEL', jk, 'holder')\n"                                                \
    "    redis.call('ZREM', ready, key)\n"                                                  \
    "  elseif hold_ms > 0 then\n"                                                           \
    "    redis.call('HSET', jk, 'holder', token)\n"                                         \
    "    redis.call('ZADD', ready, now + hold_ms, key)\n"                                   \
    "  else\n"                                                                              \
    "    redis.call('HDEL', jk, 'holder')\n"                                                \
    "    redis.call('ZADD', ready, 'NX', now, key)\n"                                       \
    "  end\n"                                                                               \
    "end\n"

/* ARGV: sid, params, values, token, then key, value pairs: the jobs known
 * before the answer (made in state submitting; none when jobs are made by
 * the answer). 1 recorded, 0 already there. */
static const char submit_lua[] =
    PRELUDE
    "local sid = ARGV[1]\n"
    "local sk = base .. 'sub:' .. sid\n"
    "if redis.call('EXISTS', sk) == 1 then return 0 end\n"
    "local n, k = tonumber(ARGV[3]), 0\n"
    "for i = 5, #ARGV - 1, 2 do\n"
    "  local jk = base .. 'job:' .. ARGV[i]\n"
    "  if redis.call('EXISTS', jk) == 0 then\n"
    "    redis.call('HSET', jk, 'state', 'submitting', 'sub', sid, 'idx', k,\n"
    "      'value', ARGV[i + 1], 'at', now)\n"
    "    redis.call('SADD', base .. 'jobs', ARGV[i])\n"
    "    redis.call('SADD', base .. 's:submitting', ARGV[i])\n"
    "    k = k + 1\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', sk, 'params', ARGV[2], 'values', n, 'jobs', k, 'state', 'sent',\n"
    "  'by', ARGV[4], 'at', now)\n"
    "redis.call('ZADD', base .. 'subs', now, sid)\n"
    "redis.call('HINCRBY', meta, 'open', n - k)\n"
    "redis.call('HINCRBY', meta, 'unhanded', k)\n"
    "redis.call('HINCRBY', meta, 'jobs', k)\n"
    "redis.call('HINCRBY', meta, 'subs', 1)\n"
    "return 1\n";

/* ARGV: sid, outcome ('answered' | 'lost'), token, poll_ms, hold_ms, then
 * key, state, id triples: a job the submission made moves on from
 * submitting, another is made (id '' keeps none). The number of jobs
 * made or moved, 0 if the answer was recorded already. */
static const char answer_lua[] =
    PRELUDE
    "local sid = ARGV[1]\n"
    "local sk = base .. 'sub:' .. sid\n"
    "local st = redis.call('HGET', sk, 'state')\n"
    "if not st then return redis.error_reply('PPSTORE no submission ' .. sid) end\n"
    "if st ~= 'sent' then return 0 end\n"
    "local token, poll_ms, hold_ms = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local made, moved = 0, 0\n"
    "for i = 6, #ARGV - 2, 3 do\n"
    "  local key, state, id = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "  local jk = base .. 'job:' .. key\n"
    "  local cur = redis.call('HGET', jk, 'state')\n"
    "  local ok = true\n"
    "  if not cur then\n"
    "    redis.call('HSET', jk, 'state', state, 'sub', sid, 'idx', made, 'at', now)\n"
    "    redis.call('SADD', base .. 'jobs', key)\n"
    "    redis.call('SADD', base .. 's:' .. state, key)\n"
    "    made = made + 1\n"
    "  elseif cur == 'submitting' and redis.call('HGET', jk, 'sub') == sid then\n"
    "    redis.call('HSET', jk, 'state', state)\n"
    "    redis.call('SMOVE', base .. 's:' .. cur, base .. 's:' .. state, key)\n"
    "    moved = moved + 1\n"
    "  else\n"
    "    ok = false\n"
    "  end\n"
    "  if ok then\n"
    "    if id ~= '' then redis.call('HSET', jk, 'id', id) end\n"
    "    place(jk, key, state, token, poll_ms, hold_ms)\n"
    "  end\n"
    "end\n"
    "local n = tonumber(redis.call('HGET', sk, 'values')) or 0\n"
    "local k = tonumber(redis.call('HGET', sk, 'jobs')) or 0\n"
    "redis.call('HSET', sk, 'state', ARGV[2], 'jobs', k + made)\n"
    "redis.call('HINCRBY', meta, 'open', k - n)\n"
    "redis.call('HINCRBY', meta, 'unhanded', made)\n"
    "redis.call('HINCRBY', meta, 'jobs', made)\n"
    "if ARGV[2] == 'lost' then redis.call('HINCRBY', meta, 'lost', n) end\n"
    "return made + moved\n";

/* ARGV: token, poll_ms, hold_ms, retention_ms, then key, path, fields
 * triples; a path
 * is states to take in order ("done,fetching,fetched"), starting after
 * the job's current state when the path names it. Per job: 1 moved, 0
 * already there, -1 not a transition, -2 held by another, -3 no such
 * job, -4 fields not a JSON object. */
static const char move_lua[] =
    PRELUDE
    "local allowed = {\n"
    "  new = {submitting = 1, pending = 1},\n"
    "  submitting = {pending = 1, rejected = 1, unknown = 1},\n"
    "  pending = {done = 1, faulted = 1, expired = 1},\n"
    "  done = {fetching = 1, faulted = 1, expired = 1},\n"
    "  fetching = {fetched = 1, done = 1, faulted = 1, expired = 1, failed = 1},\n"
    "}\n"
    "local reserved = {state = 1, holder = 1, poller = 1, handed = 1, sub = 1, idx = 1}\n"
    "local token, poll_ms, hold_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local keep = tonumber(ARGV[4])\n"
    "local out = {}\n"
    "for i = 5, #ARGV - 2, 3 do\n"
    "  local key, path, fields = ARGV[i], ARGV[i + 1], ARGV[i + 2]\n"
    "  local jk = base .. 'job:' .. key\n"
    "  local from = redis.call('HGET', jk, 'state')\n"
    "  local f, rc = nil, 0\n"
    "  if fields ~= '' then\n"
    "    local ok, v = pcall(cjson.decode, fields)\n"
    "    if ok and type(v) == 'table' then f = v else rc = -4 end\n"
    "  end\n"
    "  local h = from and held(jk, key)\n"
    "  if rc ~= 0 then\n"
    "  elseif not from then rc = -3\n"
    "  elseif h and h ~= token then rc = -2\n"
    "  else\n"
    "    local steps = {}\n"
    "    for s in string.gmatch(path, '[^,]+') do\n"
    "      if s == from then steps = {} else steps[#steps + 1] = s end\n"
    "    end\n"
    "    local state = from\n"
    "    for _, to in ipairs(steps) do\n"
    "      if not (allowed[state] and allowed[state][to]) then rc = -1 break end\n"
    "      state, rc = to, 1\n"
    "    end\n"
    "    if rc == 1 then\n"
    "      redis.call('HSET', jk, 'state', state)\n"
    "      redis.call('SMOVE', base .. 's:' .. from, base .. 's:' .. state, key)\n"
    "      place(jk, key, state, token, poll_ms, hold_ms)\n"
    "      retire(jk, key, keep, state)\n"
    "    end\n"
    "    if rc >= 0 and f then\n"
    "      for k, v in pairs(f) do\n"
    "        if not reserved[k] then redis.call('HSET', jk, k, tostring(v)) end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  out[#out + 1] = rc\n"
    "end\n"
    "return out\n";

/* ARGV: token, max, lease_ms. [remaining, key, fields, ...]: fields is
 * the job's hash as list gives it, so no read follows a claim. */
static const char claim_lua[] =
    PRELUDE
    "prune()\n"
    "local lease = tonumber(ARGV[3])\n"
    "local keys = redis.call('ZRANGEBYSCORE', ready, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local out = {0}\n"
    "for _, key in ipairs(keys) do\n"
    "  local jk = base .. 'job:' .. key\n"
    "  local st = redis.call('HGET', jk, 'state')\n"
    "  if not st or redis.call('HEXISTS', jk, 'handed') == 1 then\n"
    "    redis.call('ZREM', ready, key)\n"
    "  else\n"
    "    redis.call('HSET', jk, 'holder', ARGV[1])\n"
    "    redis.call('ZADD', ready, now + lease, key)\n"
    "    out[#out + 1] = key\n"
    "    out[#out + 1] = redis.call('HGETALL', jk)\n"
    "  end\n"
    "end\n"
    "local m = redis.call('HMGET', meta, 'open', 'unhanded')\n"
    "out[1] = (tonumber(m[1]) or 0) + (tonumber(m[2]) or 0)\n"
    "return out\n";

/* ARGV: token, max, lease_ms. [key, fields, ...]: pending jobs due for a
 * poll, each with its hash. */
static const char poll_lua[] =
    PRELUDE
    "local keys = redis.call('ZRANGEBYSCORE', pollq, '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))\n"
    "local out = {}\n"
    "for _, key in ipairs(keys) do\n"
    "  local jk = base .. 'job:' .. key\n"
    "  if redis.call('HGET', jk, 'state') ~= 'pending' then\n"
    "    redis.call('ZREM', pollq, key)\n"
    "  else\n"
    "    redis.call('HSET', jk, 'poller', ARGV[1])\n"
    "    redis.call('ZADD', pollq, now + tonumber(ARGV[3]), key)\n"
    "    out[#out + 1] = key\n"
    "    out[#out + 1] = redis.call('HGETALL', jk)\n"
    "  end\n"
    "end\n"
    "return out\n";

/* The queue and field of a lease kind (ARGV[1]), and each key of
 * ARGV[first..] through fn, its answers in a list. */
#define LEASE_KIND \
    "local z, field = ready, 'holder'\n"                                   \
    "if ARGV[1] == 'poll' then z, field = pollq, 'poller' end\n"           \
    "local function mine(jk, key)\n"                                       \
    "  return redis.call('HGET', jk, field) == ARGV[2] and\n"              \
    "    redis.call('ZSCORE', z, key) ~= false\n"                          \
    "end\n"                                                                \
    "local function each(first, fn)\n"                                     \
    "  local out = {}\n"                                                   \
    "  for i = first, #ARGV do out[#out + 1] = fn(base .. 'job:' .. ARGV[i], ARGV[i]) end\n" \
    "  return out\n"                                                       \
    "end\n"

/* ARGV: kind ('claim' | 'poll'), token, lease_ms, keys. 1 renewed, 0 lost. */
static const char renew_lua[] =
    PRELUDE LEASE_KIND
    "return each(4, function(jk, key)\n"
    "  if not mine(jk, key) then return 0 end\n"
    "  redis.call('ZADD', z, 'XX', now + tonumber(ARGV[3]), key)\n"
    "  return 1\n"
    "end)\n";

/* ARGV: kind, token, outcome, retention_ms, keys. Claims: 'handed' (held
 * jobs handed
 * out for good), 'return' (claimable again), 'take' (handed out at once
 * unless handed out already or held by another: the journal's claim),
 * 'untake' (a job this token took is not handed out after all: the
 * journal's unclaim); polls: the delay in ms before the next poll. 1 done,
 * 0 not held. A job this token handed out already answers 1 again (a
 * resent release). */
static const char release_lua[] =
    PRELUDE LEASE_KIND
    "local keep = tonumber(ARGV[4])\n"
    "return each(5, function(jk, key)\n"
    "  local handed = redis.call('HGET', jk, 'handed')\n"
    "  if ARGV[3] == 'untake' then\n"
    "    if handed ~= ARGV[2] then return 0 end\n"
    "    redis.call('HDEL', jk, 'handed')\n"
    "    unretire(jk, key)\n"
    "    redis.call('HINCRBY', meta, 'unhanded', 1)\n"
    "    if finished(redis.call('HGET', jk, 'state')) then\n"
    "      redis.call('ZADD', ready, now, key)\n"
    "    end\n"
    "    return 1\n"
    "  end\n"
    "  if ARGV[1] == 'claim' and handed then return handed == ARGV[2] and 1 or 0 end\n"
    "  if ARGV[3] == 'take' then\n"
    "    local h = held(jk, key)\n"
    "    local st = redis.call('HGET', jk, 'state')\n"
    "    if not st or (h and h ~= ARGV[2]) then return 0 end\n"
    "    redis.call('HSET', jk, 'handed', ARGV[2])\n"
    "    redis.call('HDEL', jk, 'holder')\n"
    "    redis.call('ZREM', ready, key)\n"
    "    redis.call('HINCRBY', meta, 'unhanded', -1)\n"
    "    retire(jk, key, keep, st, true)\n"
    "    return 1\n"
    "  end\n"
    "  if not mine(jk, key) then return 0 end\n"
    "  redis.call('HDEL', jk, field)\n"
    "  if ARGV[1] == 'poll' then\n"
    "    redis.call('ZADD', pollq, 'XX', now + tonumber(ARGV[3]), key)\n"
    "  elseif ARGV[3] == 'handed' then\n"
    "    redis.call('HSET', jk, 'handed', ARGV[2])\n"
    "    redis.call('ZREM', ready, key)\n"
    "    redis.call('HINCRBY', meta, 'unhanded', -1)\n"
    "    if keep > 0 then retire(jk, key, keep, redis.call('HGET', jk, 'state'), true) end\n"
    "  else\n"
    "    redis.call('ZADD', ready, 'XX', now, key)\n"
    "  end\n"
    "  return 1\n"
    "end)\n";

/* ARGV: state ('' for all), cursor, count, unhanded ('1': only jobs not
 * handed out). [next_cursor, key, fields, key, fields...]: fields is the
 * job's hash (state, id, sub, value, and what moves set: error, results
 * path...); a page may hold fewer than count, next_cursor "0" ends. */
static const char list_lua[] =
    PRELUDE
    "prune()\n"
    "local set = base .. 'jobs'\n"
    "if ARGV[1] ~= '' then set = base .. 's:' .. ARGV[1] end\n"
    "local r = redis.call('SSCAN', set, ARGV[2], 'COUNT', tonumber(ARGV[3]))\n"
    "local out = {r[1]}\n"
    "for _, key in ipairs(r[2]) do\n"
    "  local jk = base .. 'job:' .. key\n"
    "  local h = redis.call('HGETALL', jk)\n"
    "  if #h == 0 then\n"
    "    forget_job(key)\n"
    "  elseif ARGV[4] ~= '1' or redis.call('HEXISTS', jk, 'handed') == 0 then\n"
    "    out[#out + 1] = key\n"
    "    out[#out + 1] = h\n"
    "  end\n"
    "end\n"
    "return out\n";
/* ARGV: force ('1': whatever their state), page. Drops up to page jobs
 * of the tag (and then up to page submissions), and the tag's own keys
 * once none is left: 1 when more is left (call again), 0 when the tag is
 * gone. Without force, refused (an error, nothing dropped) while a job of
 * the tag is not handed out yet or a submission not answered: checked on
 * every page, so what a page drops was all handed out. */
static const char forget_lua[] =
    PRELUDE
    "if ARGV[1] ~= '1' then\n"
    "  local m = redis.call('HMGET', meta, 'open', 'unhanded')\n"
    "  local left = (tonumber(m[1]) or 0) + (tonumber(m[2]) or 0)\n"
    "  if left > 0 then\n"
    "    return redis.error_reply('PPSTORE ' .. left ..\n"
    "      ' jobs of the tag are pending or not handed out yet')\n"
    "  end\n"
    "end\n"
    "local page = tonumber(ARGV[2])\n"
    "local keys = redis.call('SPOP', base .. 'jobs', page)\n"
    "for _, key in ipairs(keys) do redis.call('UNLINK', base .. 'job:' .. key) end\n"
    "if #keys > 0 then return 1 end\n"
    "local sids = redis.call('ZRANGE', base .. 'subs', 0, page - 1)\n"
    "for _, sid in ipairs(sids) do\n"
    "  redis.call('UNLINK', base .. 'sub:' .. sid)\n"
    "  redis.call('ZREM', base .. 'subs', sid)\n"
    "end\n"
    "if #sids > 0 then return 1 end\n"
    "local names = {'new', 'submitting', 'pending', 'done', 'fetching'}\n"
    "for s in pairs(final) do names[#names + 1] = s end\n"
    "for _, s in ipairs(names) do redis.call('UNLINK', base .. 's:' .. s) end\n"
    "redis.call('UNLINK', ready, pollq, exp, base .. 'jobs', base .. 'subs', meta)\n"
    "return 0\n";
/* clang-format on */

static const struct {
    const char *name;
    const char *text;
} scripts[PP_RS_COUNT] = {
    [PP_RS_SUBMIT] = {"submit", submit_lua},    [PP_RS_ANSWER] = {"answer", answer_lua},
    [PP_RS_MOVE] = {"move", move_lua},          [PP_RS_CLAIM] = {"claim", claim_lua},
    [PP_RS_POLL] = {"poll", poll_lua},          [PP_RS_RENEW] = {"renew", renew_lua},
    [PP_RS_RELEASE] = {"release", release_lua}, [PP_RS_LIST] = {"list", list_lua},
    [PP_RS_FORGET] = {"forget", forget_lua},
};

const char *pp_redis_script_text(int script)
{
    return script >= 0 && script < PP_RS_COUNT ? scripts[script].text : NULL;
}

const char *pp_redis_script_name(int script)
{
    return script >= 0 && script < PP_RS_COUNT ? scripts[script].name : NULL;
}
