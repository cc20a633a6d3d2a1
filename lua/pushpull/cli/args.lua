-- Command-line parsing for the pushpull command: each subcommand declares
-- its options (plus the global ones) and this module reads argv into
-- {options, positionals} or says what was wrong, and writes --help.
--
--   local spec = {name = "batch", usage = "...", summary = "...",
--     options = {{"out", arg = "DIR", help = "..."}, {"quiet", help = "..."},
--                {"param", arg = "KEY=VALUE", multi = true, help = "..."}}}
--   local opts, positionals = args.parse(spec, argv, first)   -- or nil, message
--
-- Options are --name VALUE, --name=VALUE or --name for flags; they may come
-- anywhere among the positionals; "--" ends them; "-" is a positional.
local M = {}

-- Options every subcommand takes.
M.GLOBAL = {
  {"base-url", arg = "URL", help = "the service (default: $PUSHPULL_BASE_URL, else the real service)"},
  {"netrc", arg = "FILE", help = "where credentials are looked up (default: $NETRC, else ~/.netrc)"},
  {"retries", arg = "N", help = "retries of a request on connection errors, 429 and 5xx (library default 6)"},
  {"help", help = "this text"},
}

local function find(spec, name)
  for _, list in ipairs{spec.options or {}, M.GLOBAL} do
    for _, o in ipairs(list) do
      if o[1] == name then
        return o
      end
    end
  end
  return nil
end

-- opts (name -> value, true for flags, a list for multi options) and the
-- list of positionals; or nil and a message.
function M.parse(spec, argv, first)
  local opts, positionals = {}, {}
  local i = first or 1
  local only_positionals = false
  while argv[i] ~= nil do
    local a = argv[i]
    if only_positionals or a == "-" or a:sub(1, 2) ~= "--" then
      positionals[#positionals + 1] = a
    elseif a == "--" then
      only_positionals = true
    else
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local o = find(spec, name)
      if not o then
        return nil, ("unknown option --%s"):format(name)
      end
      if o.arg then
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then
            return nil, ("--%s needs a value (%s)"):format(name, o.arg)
          end
        end
      elseif value ~= nil then
        return nil, ("--%s takes no value"):format(name)
      else
        value = true
      end
      if o.multi then
        local list = opts[name] or {}
        list[#list + 1] = value
        opts[name] = list
      else
        opts[name] = value
      end
    end
    i = i + 1
  end
  return opts, positionals
end

-- A number from an option's text, or nil and a message.
function M.number(opts, name, min)
  local v = opts[name]
  if v == nil then
    return nil
  end
  local n = tonumber(v)
  if not n or n ~= n or (min and n < min) then
    return nil, ("--%s wants a number%s, got %q"):format(name, min and (" >= " .. min) or "", v)
  end
  return n
end

local function option_lines(list, out)
  for _, o in ipairs(list) do
    local left = "  --" .. o[1] .. (o.arg and (" " .. o.arg) or "")
    if #left < 24 then
      left = left .. (" "):rep(24 - #left)
    else
      left = left .. "\n" .. (" "):rep(24)
    end
    out[#out + 1] = left .. o.help .. (o.multi and " (repeatable)" or "")
  end
end

-- The --help text of a subcommand.
function M.help(spec)
  local out = {"usage: " .. spec.usage, "", spec.summary}
  if spec.details then
    out[#out + 1] = ""
    out[#out + 1] = spec.details
  end
  if spec.options and #spec.options > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "options:"
    option_lines(spec.options, out)
  end
  out[#out + 1] = ""
  out[#out + 1] = "global options:"
  option_lines(M.GLOBAL, out)
  return table.concat(out, "\n") .. "\n"
end

return M
