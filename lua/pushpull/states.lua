-- The one place where the core's job states become the words users see.
--
-- The core counts steps users need not know (new, fetching, fetched). A
-- job's `status` is only ever one of the service's words (submitting,
-- pending, done, faulted) or the client's (unknown, rejected, expired,
-- failed); whether results are at hand is `job.fetched`.
local core = require("pushpull.core")

local M = {}

---@alias pushpull.JobStatus
---| "submitting" # sent, or about to be; no id yet
---| "pending"    # the service has it (it has an id) and is working on it
---| "done"       # the service finished it (job.fetched: its results are here)
---| "faulted"    # the service gave up on it (not billed)
---| "unknown"    # the submission was sent but its answer was lost; never resent
---| "rejected"   # the service refused the submission (4xx)
---| "expired"    # the service no longer has it or its results
---| "failed"     # the results could not be stored

-- Every status word, in the order a job may go through them.
M.words = {"submitting", "pending", "done", "faulted", "unknown", "rejected", "expired", "failed"}

-- The word of each core state, by the binding's constant names. A state the
-- binding does not have (FAILED before the core stores results itself) is
-- skipped, and picked up once it has.
local WORD_OF = {
  NEW = "submitting",
  SUBMITTING = "submitting",
  PENDING = "pending",
  DONE = "done",
  FETCHING = "done",
  FETCHED = "done",
  FAULTED = "faulted",
  REJECTED = "rejected",
  UNKNOWN = "unknown",
  EXPIRED = "expired",
  FAILED = "failed",
}

local word = {} -- state number -> word
for name, w in pairs(WORD_OF) do
  local n = core[name]
  if n ~= nil then
    word[n] = w
  end
end

-- The word for state (spec/client/vocabulary_spec.lua checks that every
-- state of the core has one).
function M.word(state)
  return word[state] or core.states[state] or tostring(state)
end

-- The core states a word stands for ({} when it is not a word).
function M.states_of(w)
  local out = {}
  for n, v in pairs(word) do
    if v == w then
      out[#out + 1] = n
    end
  end
  table.sort(out)
  return out
end

-- Whether the results of a job in state are at hand.
function M.fetched(state)
  return state == core.FETCHED
end

-- Whether a job in state has ended for a client: a final state, or done
-- when the client does not download results while it polls.
function M.ended(state, fetching)
  return core.state_is_final(state) or (state == core.DONE and not fetching)
end

-- Whether the service accepted the job (it is not refused or lost).
function M.accepted(state)
  return state ~= core.NEW and state ~= core.SUBMITTING and state ~= core.REJECTED
    and state ~= core.UNKNOWN
end

-- Whether a job in state ended well: done, its results here when the
-- client fetches them.
function M.succeeded(state)
  return state == core.FETCHED or state == core.DONE
end

return M
