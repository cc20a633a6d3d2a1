-- Where the pushpull command finds its credentials, never on its command
-- line (where `ps` and shell histories would show them): the environment
-- (PUSHPULL_USERNAME and PUSHPULL_PASSWORD), else a netrc file -- $NETRC or
-- ~/.netrc, or --netrc FILE -- whose `machine` is the host of the base URL
-- (or its `default` entry).
local M = {}

-- The host of a URL: "http://127.0.0.1:8700/x" -> "127.0.0.1".
function M.host(url)
  local authority = url:match("^%a[%w+.-]*://([^/?#]*)") or url
  authority = authority:gsub("^.*@", "")
  return authority:match("^%[([^%]]*)%]") or authority:match("^([^:]*)")
end

-- The netrc file's words; quoted words (netrc as curl reads it) keep their spaces.
local function words(text)
  local list = {}
  local i, n = 1, #text
  while i <= n do
    local s = text:find("%S", i)
    if not s then
      break
    end
    if text:sub(s, s) == '"' then
      local e = text:find('"', s + 1, true) or (n + 1)
      list[#list + 1] = text:sub(s + 1, e - 1)
      i = e + 1
    else
      local e = (text:find("%s", s) or (n + 1)) - 1
      list[#list + 1] = text:sub(s, e)
      i = e + 1
    end
  end
  return list
end

local function pick(entries, host)
  local fallback
  for _, e in ipairs(entries) do
    if e.machine == host and e.login and e.password then
      return {login = e.login, password = e.password}
    end
    if e.default and e.login and e.password and not fallback then
      fallback = {login = e.login, password = e.password}
    end
  end
  return fallback
end

-- {login, password} of host in netrc text (the first machine entry that
-- names it, else the default entry), or nil.
function M.from_netrc(text, host)
  -- a macro definition runs to the next empty line, a comment to the end of
  -- its line: none of them is an entry
  text = ("\n" .. text .. "\n\n"):gsub("\n[ \t]*#[^\n]*", "\n")
  local w = words((text:gsub("macdef[^\n]*\n.-\n[ \t]*\n", "\n")))
  local entries, current = {}, nil
  local i = 1
  while i <= #w do
    local word = w[i]
    if word == "machine" then
      current = {machine = w[i + 1]}
      entries[#entries + 1] = current
      i = i + 2
    elseif word == "default" then
      current = {default = true}
      entries[#entries + 1] = current
      i = i + 1
    elseif current and (word == "login" or word == "password" or word == "account") then
      current[word] = w[i + 1]
      i = i + 2
    else
      i = i + 1
    end
  end
  return pick(entries, host)
end

-- The netrc file to read: the one named, $NETRC, or ~/.netrc.
function M.netrc_path(named)
  if named and named ~= "" then
    return named
  end
  local env = os.getenv("NETRC")
  if env and env ~= "" then
    return env
  end
  local home = os.getenv("HOME")
  return home and (home .. "/.netrc") or nil
end

-- username, password for base_url; or nil and a message that says where
-- they were looked for.
function M.find(base_url, netrc)
  local user, pass = os.getenv("PUSHPULL_USERNAME"), os.getenv("PUSHPULL_PASSWORD")
  if user and user ~= "" and pass then
    return user, pass
  end
  local host = M.host(base_url)
  local path = M.netrc_path(netrc)
  local f = path and io.open(path, "rb")
  if f then
    local text = f:read("*a") or ""
    f:close()
    local entry = M.from_netrc(text, host)
    if entry then
      return entry.login, entry.password
    end
  elseif netrc then
    return nil, ("cannot read the netrc file %s"):format(netrc)
  end
  return nil, ("no credentials for %s: set PUSHPULL_USERNAME and PUSHPULL_PASSWORD, or add"
    .. " \"machine %s login NAME password SECRET\" to %s"):format(host, host, path or "~/.netrc")
end

return M
