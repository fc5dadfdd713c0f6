-- A project's gateway configuration as the tenant-manager's config API
-- returns it and as both parties cache it in Redis under project:cfg:{id}:
-- {"project_id", "function_url", "jwt_secret", "jwt_kid", "version"}, and
-- optionally "paused", "rate_limit" {"rps", "burst"}, "third_party_auth"
-- (see thirdparty.lua) and "functions_url" (the project's edge functions
-- Lambda, null before its first deploy).
local cjson = require("cjson.safe")
local thirdparty = require("kong.plugins.dynamic-lambda-router.thirdparty")

local M = {}

-- The only way anyone writes project:cfg:{id}. The tenant-manager holds a
-- byte-identical copy: a document whose version is lower than the cached
-- one loses, so a refill that fetched the old secret just before a
-- rotation cannot overwrite the new one. Do not reformat.
M.SCRIPT = [[
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, doc = pcall(cjson.decode, cur)
  if ok and type(doc) == 'table' and tonumber(doc.version) and tonumber(doc.version) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
return 1
]]

-- Versions are counters kept exactly in a double.
local MAX_VERSION = 2 ^ 53

function M.key(project)
  return "project:cfg:" .. project
end

-- parse(doc_or_json, project) -> {project_id, function_url, functions_url?,
-- jwt_secret, jwt_kid?, version, ...} or nil, reason. A missing version counts as 0, so any
-- versioned write-through of the tenant-manager wins over it.
function M.parse(doc, project)
  if type(doc) == "string" then doc = cjson.decode(doc) end
  if type(doc) ~= "table" then return nil, "not a JSON object" end
  if doc.project_id ~= nil and doc.project_id ~= project then
    return nil, "config of another project"
  end
  if type(doc.jwt_secret) ~= "string" or doc.jwt_secret == "" then
    return nil, "no jwt_secret"
  end
  if type(doc.function_url) ~= "string" or not doc.function_url:match("^https://[^/:]+") then
    return nil, "function_url is not an https URL"
  end
  local functions_url = doc.functions_url
  if functions_url == cjson.null then functions_url = nil end
  if functions_url ~= nil and (type(functions_url) ~= "string" or not functions_url:match("^https://[^/:]+")) then
    return nil, "functions_url is not an https URL"
  end
  local kid = doc.jwt_kid
  if kid == cjson.null or kid == "" then kid = nil end
  if kid ~= nil and type(kid) ~= "string" then
    return nil, "jwt_kid is not a string"
  end
  local version = doc.version
  if version == nil or version == cjson.null then version = 0 end
  if type(version) ~= "number" or version % 1 ~= 0 or version < 0 or version >= MAX_VERSION then
    return nil, "version is not a whole number 0..2^53-1"
  end
  -- Optional controls; a document without them is an active project with
  -- the gateway's default rate limit.
  local paused = doc.paused
  if paused == nil or paused == cjson.null then paused = false end
  if type(paused) ~= "boolean" then
    return nil, "paused is not a boolean"
  end
  local rate_limit = doc.rate_limit
  if rate_limit == cjson.null then rate_limit = nil end
  if rate_limit ~= nil then
    local rps, burst = type(rate_limit) == "table" and rate_limit.rps, type(rate_limit) == "table" and rate_limit.burst
    if type(rps) ~= "number" or type(burst) ~= "number" or rps % 1 ~= 0 or burst % 1 ~= 0 or rps < 1 or burst < 1
      or rps >= MAX_VERSION or burst >= MAX_VERSION then
      return nil, "rate_limit is not {rps, burst} with whole numbers >= 1"
    end
    rate_limit = { rps = rps, burst = burst }
  end
  -- An unusable entry fails only the tokens of its issuer (503), not the
  -- project's API-key requests.
  local tpa, tpa_why = thirdparty.parse_config(doc.third_party_auth)
  if not tpa then return nil, tpa_why end
  return { project_id = project, function_url = doc.function_url, functions_url = functions_url,
    jwt_secret = doc.jwt_secret, jwt_kid = kid, version = version, paused = paused, rate_limit = rate_limit,
    third_party_auth = #tpa > 0 and tpa or nil, third_party_auth_doc = #tpa > 0 and doc.third_party_auth or nil }
end

-- encode(cfg) -> the JSON document and its version as Redis arguments.
-- The version is written by hand: cjson keeps only 14 significant digits.
function M.encode(cfg)
  local head = cjson.encode({ project_id = cfg.project_id, function_url = cfg.function_url,
    functions_url = cfg.functions_url, jwt_secret = cfg.jwt_secret, jwt_kid = cfg.jwt_kid, paused = cfg.paused or nil, rate_limit = cfg.rate_limit,
    third_party_auth = cfg.third_party_auth_doc })
  local version = string.format("%.0f", cfg.version)
  return head:sub(1, -2) .. ',"version":' .. version .. "}", version
end

return M
