rockspec_format = "3.0"
package = "pushpull"
version = "scm-1"
source = {
  -- `luarocks make` builds the checkout it is run from; `luarocks install`
  -- of this rockspec clones the repository.
  url = "git+https://github.com/pushpull/pushpull",
}
description = {
  summary = "Push-Pull scraping job API client: batches, polling, callbacks, schedules",
  detailed = [[
A C core over libcurl's multi interface that never blocks its host, with a
thin binding for Lua 5.1/LuaJIT and 5.4 and drivers for plain scripts,
coroutines, OpenResty and Neovim.
]],
  homepage = "https://github.com/pushpull/pushpull",
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson >= 2.1.0",
}
external_dependencies = {
  CURL = { library = "curl" },
  JANSSON = { header = "jansson.h", library = "jansson" },
  MHD = { header = "microhttpd.h", library = "microhttpd" },
  HIREDIS = { header = "hiredis/hiredis.h", library = "hiredis" },
  OPENSSL = { header = "openssl/ssl.h", library = "ssl" },
  SQLITE3 = { header = "sqlite3.h", library = "sqlite3" },
}
build = {
  type = "builtin",
  modules = {
    ["pushpull"] = "lua/pushpull/init.lua",
    ["pushpull.batch"] = "lua/pushpull/batch.lua",
    ["pushpull.client"] = "lua/pushpull/client.lua",
    ["pushpull.errors"] = "lua/pushpull/errors.lua",
    ["pushpull.host"] = "lua/pushpull/host.lua",
    ["pushpull.job"] = "lua/pushpull/job.lua",
    ["pushpull.journal"] = "lua/pushpull/journal.lua",
    ["pushpull.fleet"] = "lua/pushpull/fleet.lua",
    ["pushpull.json"] = "lua/pushpull/json.lua",
    ["pushpull.results_files"] = "lua/pushpull/results_files.lua",
    ["pushpull.schedules"] = "lua/pushpull/schedules.lua",
    ["pushpull.states"] = "lua/pushpull/states.lua",
    ["pushpull.util"] = "lua/pushpull/util.lua",
    ["pushpull.wait"] = "lua/pushpull/wait.lua",
    ["pushpull.drivers"] = "lua/pushpull/drivers/init.lua",
    ["pushpull.drivers.blocking"] = "lua/pushpull/drivers/blocking.lua",
    ["pushpull.drivers.coro"] = "lua/pushpull/drivers/coro.lua",
    ["pushpull.drivers.luv"] = "lua/pushpull/drivers/luv.lua",
    ["pushpull.drivers.ngx"] = "lua/pushpull/drivers/ngx.lua",
    ["pushpull.ngx"] = "lua/pushpull/ngx.lua",
    ["pushpull.cli"] = "lua/pushpull/cli/init.lua",
    ["pushpull.cli.args"] = "lua/pushpull/cli/args.lua",
    ["pushpull.cli.batch"] = "lua/pushpull/cli/batch.lua",
    ["pushpull.cli.credentials"] = "lua/pushpull/cli/credentials.lua",
    ["pushpull.cli.emulator"] = "lua/pushpull/cli/emulator.lua",
    ["pushpull.cli.ips"] = "lua/pushpull/cli/ips.lua",
    ["pushpull.cli.jobs"] = "lua/pushpull/cli/jobs.lua",
    ["pushpull.cli.params"] = "lua/pushpull/cli/params.lua",
    ["pushpull.cli.progress"] = "lua/pushpull/cli/progress.lua",
    ["pushpull.cli.schedules"] = "lua/pushpull/cli/schedules.lua",
    ["pushpull.cli.session"] = "lua/pushpull/cli/session.lua",
    ["pushpull.cli.submit"] = "lua/pushpull/cli/submit.lua",
    ["pushpull.core"] = {
      sources = {
        "binding/core.c",
        "common/src/buf.c",
        "common/src/json.c",
        "common/src/mhd.c",
        "common/src/utf8.c",
        "core/src/answers.c",
        "core/src/callbacks.c",
        "core/src/batch_scan.c",
        "core/src/client.c",
        "core/src/debug.c",
        "core/src/drive.c",
        "core/src/engine.c",
        "core/src/estimate.c",
        "core/src/errors.c",
        "core/src/events.c",
        "core/src/exchange.c",
        "core/src/fleet.c",
        "core/src/headers.c",
        "core/src/heap.c",
        "core/src/jobs.c",
        "core/src/journal.c",
        "core/src/json_util.c",
        "core/src/receiver.c",
        "core/src/redis_cluster.c",
        "core/src/redis_conn.c",
        "core/src/redis_io.c",
        "core/src/redis_scripts.c",
        "core/src/redis_store.c",
        "core/src/redis_tls.c",
        "core/src/redis_url.c",
        "core/src/links.c",
        "core/src/listener.c",
        "core/src/ops.c",
        "core/src/plan.c",
        "core/src/results.c",
        "core/src/retry.c",
        "core/src/schedule.c",
        "core/src/state.c",
        "core/src/store_redis.c",
        "core/src/store_redis_callbacks.c",
        "core/src/store_redis_forget.c",
        "core/src/store_redis_list.c",
        "core/src/store_sqlite.c",
        "core/src/submit.c",
        "core/src/util.c",
      },
      incdirs = { "core/include", "core/src", "common/include", "$(CURL_INCDIR)", "$(JANSSON_INCDIR)", "$(MHD_INCDIR)", "$(SQLITE3_INCDIR)", "$(HIREDIS_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(JANSSON_LIBDIR)", "$(MHD_LIBDIR)", "$(SQLITE3_LIBDIR)", "$(HIREDIS_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      libraries = { "curl", "jansson", "microhttpd", "sqlite3", "hiredis", "ssl", "crypto" },
    },
  },
  -- the pushpull command (LuaRocks wraps it to run with the rock's Lua and tree)
  install = {
    bin = { pushpull = "bin/pushpull" },
  },
}
-- `luarocks test` in a checkout: builds everything, then runs the C tests
-- and the busted specs under Lua 5.4 and LuaJIT (it ends with "N passed, N failed").
test = {
  type = "command",
  command = "make test",
}
