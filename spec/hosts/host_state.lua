-- What a library could change in the process that loads it: the
-- metatables of the basic types, the globals, the standard library tables
-- and the package paths. snapshot() records them (values by identity);
-- diff(a, b) lists what differs, as lines of text.
--
-- Used around a full workflow in a plain Lua 5.4 / LuaJIT process
-- (spec/client/side_effects_spec.lua), in nginx (spec/hosts/ngx_app.lua)
-- and in Neovim (spec/hosts/nvim/side_effects.lua).
local M = {}

local getmetatable_raw = debug.getmetatable

-- One value of each basic type (nil has a metatable slot too).
local SAMPLES = {
  {"nil", nil},
  {"boolean", true},
  {"number", 0},
  {"float", 0.5},
  {"string", ""},
  {"function", print},
  {"thread", coroutine.create(function() end)},
  {"table", {}},
}

local LIBRARIES = {"string", "table", "math", "io", "os", "coroutine", "debug", "package", "utf8", "bit", "jit"}

-- {key = value} of t, one level.
local function shallow(t)
  local copy = {}
  for k, v in pairs(t) do
    copy[k] = v
  end
  return copy
end

function M.snapshot()
  local s = {metatables = {}, libraries = {}}
  for _, sample in ipairs(SAMPLES) do
    local mt = getmetatable_raw(sample[2])
    s.metatables[sample[1]] = {mt = mt, fields = mt and shallow(mt) or {},
      visible = getmetatable(sample[2])}
  end
  s.globals = shallow(_G)
  for _, name in ipairs(LIBRARIES) do
    local lib = rawget(_G, name)
    if type(lib) == "table" then
      s.libraries[name] = shallow(lib)
    end
  end
  -- what is in package.loaded changes with every require: not compared
  s.libraries.package.loaded = nil
  s.path, s.cpath = package.path, package.cpath
  return s
end

local function describe(v)
  local t = type(v)
  if t == "string" then
    return ("%q"):format(v)
  end
  return t == "table" and "a table" or tostring(v)
end

-- The differences between the fields of two shallow copies.
local function compare(where, a, b, out)
  for k, v in pairs(a) do
    if not rawequal(b[k], v) then
      out[#out + 1] = ("%s.%s changed: %s -> %s"):format(where, tostring(k), describe(v), describe(b[k]))
    end
  end
  for k, v in pairs(b) do
    if a[k] == nil then
      out[#out + 1] = ("%s.%s added: %s"):format(where, tostring(k), describe(v))
    end
  end
end

function M.diff(a, b)
  local out = {}
  for name, ma in pairs(a.metatables) do
    local mb = b.metatables[name]
    if not rawequal(ma.mt, mb.mt) or not rawequal(ma.visible, mb.visible) then
      out[#out + 1] = "the metatable of " .. name .. " values changed"
    else
      compare("metatable(" .. name .. ")", ma.fields, mb.fields, out)
    end
  end
  compare("_G", a.globals, b.globals, out)
  for name, la in pairs(a.libraries) do
    compare(name, la, b.libraries[name] or {}, out)
  end
  if a.path ~= b.path then
    out[#out + 1] = "package.path changed"
  end
  if a.cpath ~= b.cpath then
    out[#out + 1] = "package.cpath changed"
  end
  table.sort(out)
  return out
end

-- For hosts that take the first snapshot long before the comparison
-- (nginx: in init_by_lua, before anything loads pushpull).
function M.remember()
  M.first = M.snapshot()
end

-- ignore: {["os.getenv"] = true, ...}, fields the host itself changes.
function M.since_remembered(ignore)
  local out = {}
  for _, line in ipairs(M.diff(assert(M.first, "host_state.remember() was not called"), M.snapshot())) do
    if not (ignore and ignore[line:match("^(%S+) ")]) then
      out[#out + 1] = line
    end
  end
  return out
end

return M
