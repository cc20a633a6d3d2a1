-- doc/emulator.md against the emulator: every flag of --help and every
-- admin endpoint is there, and the API reference --help cites ships in the
-- repository.
local env = require("support.env")
local read = require("support.files").read

local function help()
  local p = assert(io.popen("'" .. env.bin("pushpull-emulator") .. "' --help 2>&1"))
  local out = p:read("*a")
  p:close()
  return out
end

describe("doc/emulator.md", function()
  local doc = assert(read(env.root .. "/doc/emulator.md"))
  local text = help()

  it("lists every flag of --help", function()
    local flags = {}
    for flag in text:gmatch("%f[%w-]%-%-(%a[%w-]*)") do
      flags[flag] = true
    end
    assert.is_true(flags.port and flags.inject and flags.seed and true or false)
    local missing = {}
    for flag in pairs(flags) do
      if not doc:find("`--" .. flag, 1, true) then
        missing[#missing + 1] = "--" .. flag
      end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("lists every admin endpoint", function()
    local src = assert(read(env.root .. "/emulator/src/api_admin.c"))
    local endpoints = {}
    for path in text:gmatch("(/_emulator/[%w_]+)") do
      endpoints[path] = true
    end
    for what in src:gmatch('strcmp%(what, "([%w_]+)"%)') do
      endpoints["/_emulator/" .. what] = true
    end
    assert.is_true(endpoints["/_emulator/stats"])
    local missing = {}
    for path in pairs(endpoints) do
      if not doc:find(path, 1, true) then
        missing[#missing + 1] = path
      end
    end
    table.sort(missing)
    assert.same({}, missing)
  end)

  it("cites an API reference that ships with it", function()
    local cited = text:match("see ([%w/_.-]+%.md)")
    assert.equal("doc/API.md", cited)
    local api = read(env.root .. "/" .. cited)
    assert.truthy(api and api:find("POST /v1/queries/batch", 1, true))
  end)
end)
