rockspec_format = "3.0"
package = "pushpull"
version = "scm-1"
source = {
  -- `luarocks make` builds the checkout it is run from; this is where
  -- a source rock would come from.
  url = "git+file:///usr/src/pushpull",
}
description = {
  summary = "Push-Pull scraping job API client: batches, polling, callbacks, schedules",
  detailed = [[
A C core over libcurl's multi interface that never blocks its host, with a
thin binding for Lua 5.1/LuaJIT and 5.4 and drivers for plain scripts,
coroutines, OpenResty and Neovim.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  -- lua-cjson is required at run time; Debian ships it as lua-cjson.
}
external_dependencies = {
  CURL = { library = "curl" },
  JANSSON = { header = "jansson.h", library = "jansson" },
  MHD = { header = "microhttpd.h", library = "microhttpd" },
}
build = {
  type = "builtin",
  modules = {
    ["pushpull"] = "lua/pushpull/init.lua",
    ["pushpull.batch"] = "lua/pushpull/batch.lua",
    ["pushpull.client"] = "lua/pushpull/client.lua",
    ["pushpull.errors"] = "lua/pushpull/errors.lua",
    ["pushpull.job"] = "lua/pushpull/job.lua",
    ["pushpull.json"] = "lua/pushpull/json.lua",
    ["pushpull.schedules"] = "lua/pushpull/schedules.lua",
    ["pushpull.util"] = "lua/pushpull/util.lua",
    ["pushpull.drivers"] = "lua/pushpull/drivers/init.lua",
    ["pushpull.drivers.blocking"] = "lua/pushpull/drivers/blocking.lua",
    ["pushpull.drivers.coro"] = "lua/pushpull/drivers/coro.lua",
    ["pushpull.drivers.luv"] = "lua/pushpull/drivers/luv.lua",
    ["pushpull.drivers.ngx"] = "lua/pushpull/drivers/ngx.lua",
    ["pushpull.ngx"] = "lua/pushpull/ngx.lua",
    ["pushpull.core"] = {
      sources = {
        "lua/binding/core.c",
        "core/src/client.c",
        "core/src/engine.c",
        "core/src/errors.c",
        "core/src/estimate.c",
        "core/src/events.c",
        "core/src/heap.c",
        "core/src/jobs.c",
        "core/src/json_util.c",
        "core/src/links.c",
        "core/src/listener.c",
        "core/src/ops.c",
        "core/src/plan.c",
        "core/src/poll.c",
        "core/src/request.c",
        "core/src/retry.c",
        "core/src/state.c",
        "core/src/submit.c",
        "core/src/util.c",
      },
      incdirs = { "core/include", "core/src", "$(CURL_INCDIR)", "$(JANSSON_INCDIR)", "$(MHD_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(JANSSON_LIBDIR)", "$(MHD_LIBDIR)" },
      libraries = { "curl", "jansson", "microhttpd" },
    },
  },
}
