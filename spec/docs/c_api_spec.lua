-- doc/c-api.md against core/include/pushpull.h: every function, type,
-- struct field and PP_ constant the header declares is named on the page,
-- and every function a heading names is declared.
local env = require("support.env")
local read = require("support.files").read

-- The header without comments.
local function code_of(text)
  return (text:gsub("/%*.-%*/", " "):gsub("//[^\n]*", " "))
end

-- {functions = {...}, names = {...}}: what the header declares.
local function declared(header)
  local code = code_of(header)
  local functions, names = {}, {}
  for name in code:gmatch("(pp_[%w_]+)%s*%(") do
    functions[name] = true
  end
  for name in code:gmatch("%f[%w_](PP_[%u%d_]+)") do
    if name ~= "PUSHPULL_H" then
      names[name] = true
    end
  end
  for body, tname in code:gmatch("typedef%s+struct%s*[%w_]*%s*(%b{})%s*([%w_]+)%s*;") do
    names[tname] = true
    for decl in body:sub(2, -2):gmatch("[^;]+") do
      local fn = decl:match("%(%s*%*%s*([%w_]+)%s*%)")
      if fn then
        names[fn] = true
      else
        for part in decl:gmatch("[^,]+") do
          local field = part:match("([%w_]+)%s*$")
          if field then
            names[field] = true
          end
        end
      end
    end
  end
  for tname in code:gmatch("typedef%s+[^;{]-([%w_]+)%s*;") do
    names[tname] = true
  end
  for tname in code:gmatch("typedef%s+enum%s*[%w_]*%s*%b{}%s*([%w_]+)%s*;") do
    names[tname] = true
  end
  return {functions = functions, names = names}
end

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local function check(doc, decl)
  local problems = {}
  for _, name in ipairs(sorted(decl.functions)) do
    if not doc:find("\n###%s+`" .. name .. "%(") then
      problems[#problems + 1] = "no heading for " .. name
    end
  end
  for _, name in ipairs(sorted(decl.names)) do
    if not decl.functions[name] and not doc:find("`" .. name .. "`", 1, true) then
      problems[#problems + 1] = name .. " is not named"
    end
  end
  for name in doc:gmatch("\n###%s+`(pp_[%w_]+)%(") do
    if not decl.functions[name] then
      problems[#problems + 1] = "a heading names " .. name .. ", which the header does not declare"
    end
  end
  return problems
end

describe("doc/c-api.md", function()
  local header = assert(read(env.root .. "/core/include/pushpull.h"))
  local doc = assert(read(env.root .. "/doc/c-api.md"))
  local decl = declared(header)

  it("reads the header's declarations", function()
    for _, f in ipairs{"pp_client_new", "pp_submit", "pp_take_events", "pp_debug_stderr"} do
      assert.is_true(decl.functions[f], f)
    end
    for _, n in ipairs{"pp_config", "max_retries", "debug", "debug_ud", "PP_FETCHED", "safety_factor",
        "callbacks_rejected", "pp_job", "PP_BATCH_MAX"} do
      assert.is_true(decl.names[n], n)
    end
  end)

  it("names every function, type, field and constant of pushpull.h", function()
    assert.same({}, check(doc, decl))
  end)

  it("fails when one is missing", function()
    local without = doc:gsub("### `pp_busy%(c%)`", "### Busy"):gsub("`retry_max_ms`", "the cap")
    local problems = table.concat(check(without, decl), "\n")
    assert.matches("no heading for pp_busy", problems, 1, true)
    assert.matches("retry_max_ms is not named", problems, 1, true)
  end)
end)
