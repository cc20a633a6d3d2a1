-- Cloud storage uploads, written under --storage-dir.
local http = require("support.http")
local fixture = require("support.fixture")
local files = require("support.files")
local contract = require("support.contract")

local function status_with(job, code)
  for _, st in ipairs(job.statuses or {}) do
    if st.code == code then
      return st
    end
  end
  return nil
end

describe("emulator: storage", function()
  local ctx = fixture.servers{site = true,
    args = function(c)
      c.dir = files.tmpdir()
      return {"--storage-dir", c.dir}
    end,
    cleanup = function(c) files.rmdir(c.dir) end}
  local emu, s, dir
  setup(function()
    emu, s, dir = ctx.emu, ctx.site, ctx.dir
  end)

  it("writes <storage_url>/<job_id>.json and reports upload 13000", function()
    local job = emu:submit{source = "universal", url = s:page_url(1),
      storage_type = "s3", storage_url = "bucket/path"}
    assert.equal("s3", job.storage_type)
    assert.equal("bucket/path", job.storage_url)
    local st = contract.eventually(function()
      return status_with(emu:job(job.id), 13000)
    end, 10)
    assert.truthy(st, "a 13000 status")
    assert.equal("S3_STORAGE_UPLOAD", st.event)
    assert.equal("Upload Successful", st.message)
    local text = files.read(dir .. "/bucket/path/" .. job.id .. ".json")
    assert.truthy(text, "the uploaded file")
    local doc = http.decode(text)
    assert.equal("table", type(doc))
    assert.truthy(text:find("Page 1", 1, true), "the results are in the file")
  end)

  it("reports 13102 for a path that leaves the storage folder, writing nothing", function()
    local job = emu:submit{source = "universal", url = s:page_url(2),
      storage_type = "s3", storage_url = "../escape"}
    local st = contract.eventually(function()
      return status_with(emu:job(job.id), 13102)
    end, 10)
    assert.truthy(st, "a 13102 status")
    assert.is_nil(status_with(emu:job(job.id), 13000))
    assert.is_nil(files.read(dir .. "/../escape/" .. job.id .. ".json"))
  end)
end)
