-- Have the service upload each job's results to cloud storage, and check
-- that every upload went through, without downloading a byte of results.
--
--   lua5.4 examples/cloud_storage.lua STORAGE_URL URL...
--
-- STORAGE_URL names the bucket (and a path in it): s3://bucket/path for
-- AWS S3, gs://bucket/path for Google Cloud Storage, an https:// URL for an
-- S3-compatible store. The service writes <STORAGE_URL>/<job id>.json for
-- each job and records the outcome in the job's `statuses`. The bundled
-- emulator writes the files under its --storage-dir instead.
--
-- The service and the credentials come from PUSHPULL_BASE_URL,
-- PUSHPULL_USERNAME and PUSHPULL_PASSWORD.
local pushpull = require("pushpull")

local storage_url = arg[1]
if not storage_url or not arg[2] then
  io.stderr:write("usage: cloud_storage.lua STORAGE_URL URL...\n")
  os.exit(2)
end
local unpack = table.unpack or unpack
local urls = {unpack(arg, 2)}

local storage_type = storage_url:match("^gs://") and "gcs"
  or storage_url:match("^https?://") and "s3_compatible"
  or "s3"

local client = assert(pushpull.new{
  base_url = os.getenv("PUSHPULL_BASE_URL"),
  username = os.getenv("PUSHPULL_USERNAME"),
  password = os.getenv("PUSHPULL_PASSWORD"),
  -- the results go to the bucket: poll the status endpoint, never download
  poll = {fetch = false},
})

local batch = assert(client:submit_batch{source = "universal", url = urls,
  storage_type = storage_type, storage_url = storage_url})
print(("submitted %d jobs; results go to %s (%s)"):format(#batch, storage_url, storage_type))

-- The upload's outcome in a job object: the statuses entry of the upload.
local function upload_of(info)
  for _, s in ipairs(info and info.statuses or {}) do
    if type(s.event) == "string" and s.event:match("STORAGE_UPLOAD$") then
      return s
    end
  end
end

local uploaded = 0
for job in batch:completed{timeout = 300} do
  if job.status ~= "done" then
    print(("%s %s"):format(tostring(job.id), job.status))
  else
    -- the upload is recorded shortly after the job is done: ask until it is
    local up = upload_of(job.info)
    for _ = 1, 20 do
      if up then break end
      assert(job:refresh())
      up = upload_of(job.info)
      if not up then
        os.execute("sleep 0.5")
      end
    end
    if up and up.code == 13000 then
      uploaded = uploaded + 1
      print(("%s uploaded: %s/%s.json"):format(job.id, storage_url, job.id))
    else
      print(("%s not uploaded: %s"):format(job.id, up and (up.code .. " " .. tostring(up.message)) or "no outcome yet"))
    end
  end
end
print(("%d of %d uploaded"):format(uploaded, #batch))
client:close()
os.exit(uploaded == #batch and 0 or 1)
