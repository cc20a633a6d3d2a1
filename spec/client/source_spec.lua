-- Rules the Lua sources keep, read from the files themselves:
--   - an underscore field is only touched by the module that owns it (the
--     others go through pushpull.host and the functions modules return);
--   - no module touches a shared metatable or writes a global;
--   - every public call carries LuaLS annotations (---@param / ---@return),
--     and each ---@param names a parameter of the function it annotates.
local env = require("support.env")
local read = require("support.files").read

local function modules()
  local list = {}
  local p = assert(io.popen("cd '" .. env.root .. "' && find lua/pushpull -name '*.lua' | sort"))
  for file in p:lines() do
    list[#list + 1] = {file = file, text = read(env.root .. "/" .. file)}
  end
  p:close()
  return list
end

-- The text without comments and string literals (enough for these checks).
local function code_of(text)
  text = text:gsub("%-%-%[(=*)%[.-%]%1%]", "")
  text = text:gsub("%-%-[^\n]*", "")
  text = text:gsub('"[^"\n]*"', '""'):gsub("'[^'\n]*'", "''")
  return text
end

describe("the Lua sources", function()
  local mods = modules()

  it("touch an underscore field only in the module that owns it", function()
    local owner = {}
    for _, m in ipairs(mods) do
      local code = code_of(m.text)
      -- owned: a field of a table the module makes, or of its own M or self
      for _, pattern in ipairs{"[{,]%s*(_%a[%w_]*)%s*=[^=]", "%f[%w_]M%.(_%a[%w_]*)%s*=[^=]",
          "%f[%w_]self%.(_%a[%w_]*)%s*=[^=]", "function%s+[%w_]+[.:](_%a[%w_]*)"} do
        for name in code:gmatch(pattern) do
          owner[name] = owner[name] or {}
          owner[name][m.file] = true
        end
      end
    end
    local bad = {}
    for _, m in ipairs(mods) do
      local code = code_of(m.text)
      for name in code:gmatch("[%w_%)%]][.:](_%a[%w_]*)") do
        if name ~= "_G" and name ~= "_VERSION" and not (owner[name] and owner[name][m.file]) then
          bad[#bad + 1] = m.file .. ": " .. name
        end
      end
    end
    assert.same({}, bad)
  end)

  it("change no shared metatable and write no global", function()
    for _, m in ipairs(mods) do
      local code = code_of(m.text)
      assert.is_nil(code:find("setmetatable%s*%(%s*[\"']"), m.file)
      assert.is_nil(code:find("debug%.setmetatable"), m.file)
      assert.is_nil(code:find("getmetatable%s*%(%s*[\"']"), m.file)
      assert.is_nil(code:find("setfenv"), m.file)
      assert.is_nil(code:find("_G%s*%["), m.file)
      assert.is_nil(code:find("_G%.[%w_]+%s*=[^=]"), m.file)
      assert.is_nil(code:find("rawset%s*%(%s*_G"), m.file)
    end
    -- and a compiler's view: no global is assigned (Lua 5.4's listing)
    local p = io.popen("command -v luac5.4")
    local luac = p:read("*l")
    p:close()
    if luac then
      for _, m in ipairs(mods) do
        local q = assert(io.popen(luac .. " -l -l -p '" .. env.root .. "/" .. m.file .. "'"))
        local listing = q:read("*a")
        q:close()
        assert.is_nil(listing:find("SETTABUP[^\n]*; _ENV "), m.file .. " assigns a global")
      end
    end
  end)

  local PUBLIC = {
    ["lua/pushpull/client.lua"] = {"function Client:(%a[%w_]*)%(([^)]*)%)", "function M%.(new)%(([^)]*)%)"},
    ["lua/pushpull/job.lua"] = {"function Job:(%a[%w_]*)%(([^)]*)%)"},
    ["lua/pushpull/batch.lua"] = {"function Batch:(%a[%w_]*)%(([^)]*)%)"},
    ["lua/pushpull/schedules.lua"] = {"function Schedules:(%a[%w_]*)%(([^)]*)%)"},
    ["lua/pushpull/errors.lua"] = {"function M%.(is)%(([^)]*)%)"},
    ["lua/pushpull/ngx.lua"] = {"function M%.(client)%(([^)]*)%)"},
  }

  it("annotate every public call for LuaLS", function()
    local seen = 0
    for _, m in ipairs(mods) do
      for _, pattern in ipairs(PUBLIC[m.file] or {}) do
        local pos = 1
        while true do
          local s, e, name, params = m.text:find(pattern, pos)
          if not s then break end
          pos = e + 1
          seen = seen + 1
          -- the ---@ lines right above the function
          local lines = {}
          for l in m.text:sub(1, s - 1):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
          local first = #lines + 1
          while first > 1 and lines[first - 1]:find("^%-%-%-") do first = first - 1 end
          local block = table.concat(lines, "\n", first, #lines)
          assert.truthy(block:find("---@return", 1, true) or block:find("---@type", 1, true),
            m.file .. ": " .. name .. " has no ---@return")
          local given = {}
          for p in params:gmatch("[%w_]+") do given[p] = true end
          for p in block:gmatch("%-%-%-@param%s+([%w_]+)") do
            assert.is_true(given[p] == true, m.file .. ": " .. name .. " annotates no parameter " .. p)
          end
          for p in pairs(given) do
            assert.truthy(block:find("---@param " .. p, 1, true), m.file .. ": " .. name .. "(" .. p .. ")")
          end
        end
      end
    end
    assert.is_true(seen >= 30, "public calls found: " .. seen)
  end)

  it("declare the classes of the public objects", function()
    local all = {}
    for _, m in ipairs(mods) do all[#all + 1] = m.text end
    all = table.concat(all, "\n")
    for _, class in ipairs{"pushpull", "pushpull.Client", "pushpull.Job", "pushpull.Batch",
        "pushpull.Schedules", "pushpull.Error", "pushpull.Options", "pushpull.PollOptions",
        "pushpull.SubmitOptions", "pushpull.ListenOptions"} do
      assert.truthy(all:find("---@class " .. class .. "\n", 1, true), class)
    end
    assert.truthy(all:find("---@alias pushpull.JobStatus", 1, true))
  end)
end)
