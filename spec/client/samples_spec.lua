-- The payloads and answers printed on the provider's page
-- (reference/push-pull-integration.txt) drive the client unchanged (only the
-- callback URL points at the local test site).
local h = require("support.client")
local cjson = require("cjson")

-- keywords.json, the two batch examples of the page
local KEYWORDS_QUERY = [[
{
"query" : [
"adidas" ,
"nike" ,
"reebok"
] ,
"source" : "google_search" ,
"domain" : "com" ,
"callback_url" : "https://your.callback.url"
}]]

local KEYWORDS_URL = [[
{
"url" : [
"https://example.com/url1.html" ,
"https://example.com/url2.html" ,
"https://example.com/url3.html"
] ,
"source" : "google_search" ,
"callback_url" : "https://your.callback.url"
}]]

-- the job object of the page's status example
local JOB_SAMPLE = [[
{
"callback_url" : "https://your.callback.url" ,
"client_id" : 5 ,
"context" : [
{
"key" : "results_language" ,
"value" : null
} ,
{
"key" : "safe_search" ,
"value" : null
} ,
{
"key" : "tbm" ,
"value" : null
} ,
{
"key" : "cr" ,
"value" : null
} ,
{
"key" : "filter" ,
"value" : null
}
] ,
"created_at" : "2019-10-01 00:00:01" ,
"domain" : "com" ,
"geo_location" : null ,
"id" : "7173957294344910849" ,
"limit" : 10 ,
"locale" : null ,
"pages" : 1 ,
"parse" : false ,
"render" : null ,
"query" : "adidas" ,
"source" : "google_search" ,
"start_page" : 1 ,
"status" : "done" ,
"subdomain" : "www" ,
"updated_at" : "2019-10-01 00:00:15" ,
"user_agent_type" : "desktop" ,
"_links" : [
{
"rel" : "self" ,
"href" : "http://data.oxylabs.io/v1/queries/7173957294344910849" ,
"method" : "GET"
} ,
{
"rel" : "results" ,
"href" : "http://data.oxylabs.io/v1/queries/7173957294344910849/results" ,
"method" : "GET"
} ,
{
"rel" : "results-html" ,
"href" : "http://data.oxylabs.io/v1/queries/7173957294344910849/results?type=raw" ,
"method" : "GET"
} ,
{
"rel" : "results-parsed" ,
"href" : "http://data.oxylabs.io/v1/queries/7173957294344910849/results?type=parsed" ,
"method" : "GET"
} ,
{
"rel" : "results-parsed" ,
"href" : "http://data.oxylabs.io/v1/queries/7173957294344910849/results?type=png" ,
"method" : "GET"
}
]
}]]

describe("the provider's samples", function()
  local ctx = h.context{}

  for name, text in pairs{query = KEYWORDS_QUERY, url = KEYWORDS_URL} do
    it("submits the keywords.json batch with a " .. name .. " list", function()
      local params = cjson.decode(text)
      params.callback_url = ctx.site:callback_url("samples-" .. name)
      local batch = assert(ctx.client:submit_batch(params))
      assert.equal(3, #batch)
      for i, job in ipairs(batch.jobs) do
        assert.matches("^%d+$", job.id)
        assert.equal(params[name][i], job.info[name])
        assert.equal("google_search", job.info.source)
      end
      local ended = 0
      for job in batch:completed{timeout = 30} do
        ended = ended + 1
        assert.is_true(job.status == "done" or job.status == "faulted")
      end
      assert.equal(3, ended)
      -- the service posted one callback per job to the callback URL
      local calls = ctx.site:wait_callbacks("samples-" .. name, 3, 10)
      assert.equal(3, #calls)
    end)
  end

  it("takes the sample job object as a callback for that id, as a hint it checks", function()
    local job = assert(ctx.client:job("7173957294344910849"))
    assert.equal("7173957294344910849", job.id)
    assert.is_true(ctx.client:feed_callback(JOB_SAMPLE))
    -- a callback is never taken for the job's info: anybody could send it
    assert.is_nil(job.info)
    -- the client asked the service at once; the emulator has never heard of
    -- this job, so the check ends it expired, not done
    local ok, err = job:wait{timeout = 10}
    assert.is_nil(ok)
    assert.equal("expired", job.status)
    assert.equal(404, err.status)
  end)

  it("refuses a malformed callback", function()
    local ok, err = ctx.client:feed_callback("{not json")
    assert.is_nil(ok)
    assert.is_string(err.message)
  end)
end)
