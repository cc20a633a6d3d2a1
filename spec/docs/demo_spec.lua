-- `make demo` reads like a demo: the build's output goes to a log, the run
-- says what happened and what to try next; a failing build shows the end
-- of its log and fails.
local env = require("support.env")
local files = require("support.files")

local function demo(extra_env)
  local out_dir = files.tmpdir()
  local out, code = files.run(("cd '%s' && PUSHPULL_BUILD_DIR='%s' DEMO_PAGES=20 DEMO_OUT='%s/out' %s ./scripts/demo.sh")
    :format(env.root, env.build_dir, out_dir, extra_env or ""))
  local saved = #files.names(out_dir .. "/out", "^[%w_-]+%.json$")
  files.rmdir(out_dir)
  return out, code, saved
end

describe("make demo", function()
  it("builds quietly, runs the workflow and says what to try next", function()
    local out, code, saved = demo()
    assert.equal(0, code, out)
    assert.matches("building .- %.%.%. done in %d+ s %(log: .-demo%-build%.log%)", out)
    assert.is_nil(out:find("Building C object", 1, true), "build output in the demo")
    assert.is_nil(out:find("Scanning dependencies", 1, true), "build output in the demo")
    assert.matches("accepted: 20 jobs", out, 1, true)
    assert.matches("What happened: the script submitted 20 jobs", out, 1, true)
    assert.matches("Try next:", out, 1, true)
    for _, hint in ipairs{"the real service", "bin/pushpull", "examples/cloud_storage.lua", "PUSHPULL_DEBUG=1"} do
      assert.matches(hint, out, 1, true)
    end
    assert.matches("(" .. saved .. " files)", out, 1, true)
    assert.is_true(saved >= 15, "only " .. saved .. " result files")
    local lines = select(2, out:gsub("\n", "\n"))
    assert.is_true(lines < 60, lines .. " lines")
  end)

  it("shows the end of the build log when the build fails, and fails", function()
    local out, code = demo("JOBS=not-a-number")
    assert.is_true(code ~= 0, out)
    assert.matches("the build failed; the end of .-demo%-build%.log:", out)
    assert.matches("invalid number", out, 1, true)
    assert.is_nil(out:find("What happened", 1, true))
  end)
end)
