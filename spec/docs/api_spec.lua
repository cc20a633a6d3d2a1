-- doc/lua-api.md against the code: every public function of the tables
-- pushpull gives out (the module, a client, its schedules, a job, a batch,
-- an error, pushpull.ngx) has a heading there, every public field is named
-- there, every option of every option table (pushpull.util.option_sets) is
-- named in the section of its call, and every function a heading names
-- exists.
local env = require("support.env")
local h = require("support.client")
local read = require("support.files").read
local pushpull = require("pushpull")
local util = require("pushpull.util")
local ppngx = require("pushpull.ngx")

local DOC_PATH = env.root .. "/doc/lua-api.md"

-- The sections of a markdown text: {level, title, body} per heading.
local function sections(text)
  local out, cur = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local hashes, title = line:match("^(#+)%s+(.*)$")
    if hashes then
      cur = {level = #hashes, title = title, body = {}}
      out[#out + 1] = cur
    elseif cur then
      cur.body[#cur.body + 1] = line
    end
  end
  for _, s in ipairs(out) do
    s.body = table.concat(s.body, "\n")
  end
  return out
end

-- The functions the headings name: "`client:submit(params[, options])`"
-- names client:submit.
local function heading_functions(secs)
  local names = {}
  for _, s in ipairs(secs) do
    for name in s.title:gmatch("`([%w_.:]+)%(") do
      names[name] = s
    end
  end
  return names
end

-- The methods of an object: its metatable's __index table, or -- when
-- __index is a function (job objects compute job.info) -- the functions of
-- that function's upvalue tables that the object really gives by name.
local function methods_of(obj)
  local mt = getmetatable(obj)
  local index = mt and mt.__index
  local found = {}
  local function take(t)
    for k, v in pairs(t) do
      if type(k) == "string" and type(v) == "function" and not k:match("^_") and obj[k] == v then
        found[k] = true
      end
    end
  end
  if type(index) == "table" then
    take(index)
  elseif type(index) == "function" then
    for i = 1, math.huge do
      local name, value = debug.getupvalue(index, i)
      if not name then
        break
      end
      if type(value) == "table" then
        take(value)
      end
    end
  end
  return found
end

-- The public fields of an object: string keys that do not begin with _.
local function fields_of(obj)
  local found = {}
  for k, v in pairs(obj) do
    if type(k) == "string" and not k:match("^_") and type(v) ~= "function" then
      found[k] = true
    end
  end
  return found
end

local function sorted(set)
  local list = {}
  for k in pairs(set) do
    list[#list + 1] = k
  end
  table.sort(list)
  return list
end

-- What the API is made of: {functions = {name = true}, fields = {name =
-- true}, objects = {prefix = table of methods}}.
local function inventory(objects)
  local functions, fields = {}, {}
  local function module_table(prefix, t)
    for k, v in pairs(t) do
      if type(k) == "string" and not k:match("^_") then
        if type(v) == "function" then
          functions[prefix .. "." .. k] = true
        elseif prefix == "pushpull" and k == "errors" then
          module_table("pushpull.errors", v)
        else
          fields[prefix .. "." .. k] = true
        end
      end
    end
  end
  module_table("pushpull", pushpull)
  module_table("pushpull.ngx", ppngx)
  for prefix, obj in pairs(objects) do
    for name in pairs(methods_of(obj)) do
      functions[prefix .. ":" .. name] = true
    end
    for name in pairs(fields_of(obj)) do
      fields[prefix .. "." .. name] = true
    end
  end
  return {functions = functions, fields = fields}
end

-- Everything of the inventory and of the option tables that the doc does
-- not name, and every heading that names a function the code lacks.
local function check(doc, inv)
  local secs = sections(doc)
  local documented = heading_functions(secs)
  local problems = {}
  for _, name in ipairs(sorted(inv.functions)) do
    if not documented[name] then
      problems[#problems + 1] = "no heading for the function " .. name
    end
  end
  for _, name in ipairs(sorted(inv.fields)) do
    if not doc:find("`" .. name .. "`", 1, true) then
      problems[#problems + 1] = "the field " .. name .. " is not named"
    end
  end
  for _, name in ipairs(sorted(documented)) do
    if not inv.functions[name] then
      problems[#problems + 1] = "a heading names " .. name .. ", which the code does not have"
    end
  end
  local new_options = util.option_sets["pushpull.new"]
  for _, call in ipairs(sorted(util.option_sets)) do
    local set = util.option_sets[call]
    local section, prefix = documented[call], ""
    local sub = call:match("^options%.([%w_]+)$") -- pushpull.new's options.poll, options.redis_tls
    if sub then
      section, prefix = documented["pushpull.new"], sub .. "."
    end
    if not section then
      problems[#problems + 1] = "no section for the options of " .. call
    else
      for _, key in ipairs(sorted(set)) do
        local inherited = call == "pushpull.ngx.client" and new_options[key]
        if not inherited and not section.body:find("`" .. prefix .. key .. "`", 1, true) then
          problems[#problems + 1] = "the option " .. prefix .. key .. " of " .. call .. " is not named in its section"
        end
      end
    end
  end
  return problems
end

describe("doc/lua-api.md", function()
  local ctx = h.context{}
  local doc = assert(read(DOC_PATH))
  local inv

  setup(function()
    local client = ctx.client
    local job = assert(client:submit{source = "universal", url = ctx.site:page_url(1)})
    local batch = assert(client:submit_batch{source = "universal", url = {ctx.site:page_url(2)}})
    assert.is_true(batch:wait{timeout = 20})
    inv = inventory{
      client = client,
      ["client.schedules"] = client.schedules,
      job = job,
      batch = batch,
      err = pushpull.errors.new("x"),
    }
  end)

  it("finds the whole API in the code", function()
    -- the walk itself: a part of each table it must have found
    for _, name in ipairs{"pushpull.new", "pushpull.errors.new", "pushpull.ngx.client", "client:submit",
        "client.schedules:create", "job:wait", "batch:completed"} do
      assert.is_true(inv.functions[name], name)
    end
    for _, name in ipairs{"pushpull.VERSION", "client.options", "job.status", "batch.jobs", "err.message"} do
      assert.is_true(inv.fields[name], name)
    end
    for _, call in ipairs{"pushpull.new", "options.poll", "client:submit", "client:listen", "job:wait",
        "job:results", "batch:completed", "pushpull.ngx.client", "pushpull.ngx.callback_handler"} do
      assert.is_table(util.option_sets[call], call)
    end
  end)

  it("documents every public function, field and option, and nothing else", function()
    assert.same({}, check(doc, inv))
  end)

  it("fails when a function, a field or an option goes undocumented", function()
    local without = doc:gsub("### `job:release%(%)`", "### Forgetting a job")
      :gsub("`poll%.factor`", "poll factor"):gsub("`client%.base_url`", "the base URL")
    local problems = table.concat(check(without, inv), "\n")
    assert.matches("no heading for the function job:release", problems, 1, true)
    assert.matches("the option poll.factor of options.poll is not named", problems, 1, true)
    assert.matches("the field client.base_url is not named", problems, 1, true)
    local stale = doc .. "\n### `client:teleport()`\n"
    assert.matches("a heading names client:teleport, which the code does not have",
      table.concat(check(stale, inv), "\n"), 1, true)
  end)
end)
