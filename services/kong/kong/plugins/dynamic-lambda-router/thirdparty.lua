-- Third-party auth: a request with the project's API key and
-- "Authorization: Bearer <token of an OIDC provider or Cognito>" runs as
-- the role authenticated, with the token's claims, once the token is
-- verified against a signing key of one of the project's configured
-- issuers (the config document's third_party_auth). A token that fails
-- is refused (401), never served as anon.
--
-- Signing keys (JWKS) come only over https, from the configured jwks_url,
-- the configured custom_jwks, or the issuer's discovery document's
-- jwks_uri. They are cached in worker memory (MEMORY_TTL) and in Redis
-- (REDIS_TTL, key tpa:jwks:<sha256 of the URL>). A token whose kid is not
-- in the cached set makes the worker look in Redis (at most every
-- LOOK_INTERVAL) and fetch from the issuer at most once per
-- REFETCH_INTERVAL per issuer: per worker, and when Redis answers only
-- while the lock tpa:jwks:lock:<hash> is free, so once per interval for
-- all tasks. A failed fetch is not retried by the worker within the same
-- interval: keys are never fetched per request.
local idtoken = require("kong.plugins.dynamic-lambda-router.idtoken")
local cache = require("kong.plugins.dynamic-lambda-router.cache")
local crypto = require("kong.plugins.dynamic-lambda-router.crypto")
local cjson = require("cjson.safe")

local M = {}

M.MEMORY_TTL = 300
-- How long past its TTL a worker's copy is still used while neither Redis
-- nor the issuer gives a newer one.
M.MEMORY_STALE = 3600
M.REDIS_TTL = 3600
M.REFETCH_INTERVAL = 60
-- How often a worker looks in Redis for a kid its copy does not have
-- (another task may have fetched the new key set).
M.LOOK_INTERVAL = 10
M.FETCH_TIMEOUT_MS = 3000
M.MAX_JWKS_BYTES = 65536
M.MAX_KEYS = 100
M.LEEWAY = 60

-- The lock: set only when absent, so one task fetches per interval.
M.LOCK_SCRIPT = [[
if redis.call('GET', KEYS[1]) then return 0 end
redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[1]))
return 1
]]
M.SET_SCRIPT = [[
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
]]

local function https(url)
  return type(url) == "string" and #url <= 2048 and url:match("^https://[^/?#@%s]+[^%s]*$") ~= nil
end
M.https = https

-- public_host_url(url): the URL names its host by a DNS name (not an IP
-- literal) on the default https port. The configured URLs were checked by
-- the tenant-manager; a discovery document's jwks_uri was not, so this
-- keeps it from steering the gateway at an address or an internal port.
function M.public_host_url(url)
  local host = url:match("^https://([^/?#]+)")
  if not host or host:find("[:%[%]@]") then return false end
  if host:match("^[%d.]+$") then return false end
  return host:match("^[%w.-]+$") ~= nil and host:find("%.[%a][%w-]*$") ~= nil
end

-- entry(raw) -> a normalized third_party_auth entry, or nil and why.
function M.entry(raw)
  if type(raw) ~= "table" then return nil, "not an object" end
  local function opt(v) if v == cjson.null then return nil end return v end
  local e = { id = opt(raw.id), issuer = opt(raw.issuer), jwks_url = opt(raw.jwks_url),
    custom_jwks = opt(raw.custom_jwks), audience = opt(raw.audience), client_id = opt(raw.client_id),
    token_use = opt(raw.token_use) }
  if not https(e.issuer) then return nil, "issuer is not an https URL" end
  if e.jwks_url ~= nil and not https(e.jwks_url) then return nil, "jwks_url is not an https URL" end
  if e.custom_jwks ~= nil and (type(e.custom_jwks) ~= "table" or type(e.custom_jwks.keys) ~= "table") then
    return nil, "custom_jwks is not {keys: [...]}"
  end
  for _, name in ipairs({ "audience", "client_id" }) do
    if e[name] ~= nil and (type(e[name]) ~= "string" or e[name] == "") then return nil, name .. " is not a string" end
  end
  if e.token_use ~= nil and e.token_use ~= "id" and e.token_use ~= "access" then
    return nil, "token_use is not id or access"
  end
  return e
end

-- parse_config(value) -> list of entries (each valid one normalized, an
-- invalid one as {issuer, invalid = why}), or nil and why when value is
-- not a list. Absent or null = no third-party auth.
function M.parse_config(value)
  if value == nil or value == cjson.null then return {} end
  if type(value) ~= "table" then return nil, "third_party_auth is not a list" end
  local out = {}
  for i, raw in ipairs(value) do
    local e, why = M.entry(raw)
    out[i] = e or { issuer = type(raw) == "table" and raw.issuer or nil, invalid = why }
  end
  return out
end

-- bearer(authorization) -> the user token, nil when the request carries
-- none (no Authorization, or the API key in it, as supabase-js sends it
-- when no user is signed in), false when the header is not a single
-- "Bearer <token>".
function M.bearer(authorization)
  if authorization == nil then return nil end
  if type(authorization) ~= "string" then return false end
  local token = authorization:match("^%s*[Bb][Ee][Aa][Rr][Ee][Rr] +([^%s]+)%s*$")
  if not token then return false end
  if token:sub(1, 3) == "sb_" then return nil end
  return token
end

-- internal_claims(claims, project, now, ttl) -> the claims of the JWT the
-- gateway mints for a verified token: the provider's claims under their
-- own names (email, phone, cognito:groups, ... as auth.jwt() shows them
-- with Supabase's third-party auth), with role and aud "authenticated",
-- ref the project, and a lifetime that ends with the token's.
local RESERVED = { role = true, aud = true, ref = true, iat = true, exp = true, nbf = true }

-- finite drops numbers JSON cannot carry (a claim of 1e999 decodes to
-- infinity, which the JWT encoder refuses: the request would fail with a
-- 500), at any depth.
local function finite(v, depth)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return nil end
    return v
  elseif t == "table" then
    if depth > 16 then return nil end
    local out = {}
    for k, x in pairs(v) do out[k] = finite(x, depth + 1) end
    return setmetatable(out, getmetatable(v))
  end
  return v
end

function M.internal_claims(claims, project, now, ttl)
  local out = {}
  for k, v in pairs(claims) do
    if not RESERVED[k] then out[k] = finite(v, 1) end
  end
  out.role = "authenticated"
  out.aud = "authenticated"
  out.ref = project
  out.iat = now
  out.exp = math.min(now + ttl, math.floor(claims.exp))
  if out.exp <= now then out.exp = now + 1 end
  return out
end

local Store = {}
Store.__index = Store

-- new(env) -> a per-worker store. env = {
--   now()                           -> epoch seconds,
--   fetch(url, timeout_ms, max)     -> status, body | nil, nil, err (GET),
--   redis()                         -> client (get, eval, close) | nil, err,
--   log(kind, level, ...)           -> the handler's rate-limited log }
function M.new(env)
  return setmetatable({ env = env, mem = cache.new(1000, env.now), looked = {}, fetched = {} }, Store)
end

local function has_kid(jwks, kid)
  for _, k in ipairs(jwks.keys) do
    if type(k) == "table" and k.kid == kid then return true end
  end
  return false
end

-- decode_jwks(body) -> {keys = {...}} or nil.
local function decode_jwks(body)
  if type(body) ~= "string" or #body > M.MAX_JWKS_BYTES then return nil end
  local doc = cjson.decode(body)
  if type(doc) ~= "table" or type(doc.keys) ~= "table" or #doc.keys > M.MAX_KEYS then return nil end
  return { keys = doc.keys }
end

function Store:get_json(url)
  if not https(url) then return nil, "not an https URL" end
  local status, body, err = self.env.fetch(url, M.FETCH_TIMEOUT_MS, M.MAX_JWKS_BYTES)
  if not status then return nil, tostring(err) end
  if status ~= 200 then return nil, "status " .. tostring(status) end
  return body
end

-- download(entry) -> the JWKS body, or nil and why. With neither jwks_url
-- nor custom_jwks, the issuer's discovery document names the key set.
function Store:download(entry)
  local url = entry.jwks_url
  if not url then
    local body, err = self:get_json(entry.issuer:gsub("/+$", "") .. "/.well-known/openid-configuration")
    if not body then return nil, "discovery: " .. err end
    local doc = #body <= M.MAX_JWKS_BYTES and cjson.decode(body)
    url = type(doc) == "table" and doc.jwks_uri
    if not https(url) then return nil, "discovery: jwks_uri is not an https URL" end
    if not M.public_host_url(url) then return nil, "discovery: jwks_uri must name a host by DNS name on the default port" end
  end
  local body, err = self:get_json(url)
  if not body then return nil, "jwks: " .. err end
  return body
end

local function source(entry)
  return entry.jwks_url or ("discovery:" .. entry.issuer)
end

-- keys(entry, kid) -> jwks, or nil and why (no key set could be had).
function Store:keys(entry, kid)
  if entry.custom_jwks then return entry.custom_jwks end
  local env, now = self.env, self.env.now()
  local src = source(entry)
  local jwks = self.mem:get(src)
  if jwks and (kid == nil or has_kid(jwks, kid)) then return jwks end
  local stale = jwks or self.mem:get_stale(src)
  -- Here: no fresh copy, or a kid the copy does not have.
  if jwks and self.looked[src] and now - self.looked[src] < M.LOOK_INTERVAL then
    return jwks
  end
  if jwks then self.looked[src] = now end

  local rkey = "tpa:jwks:" .. crypto.hex(crypto.sha256(src))
  local red, rerr = env.redis()
  if not red then
    env.log("tpa_redis", "WARN", "redis unavailable for signing keys: ", rerr)
  else
    local raw, gerr = red:get(rkey)
    if raw == nil then
      env.log("tpa_redis", "WARN", "redis unavailable for signing keys: ", gerr)
      red:close()
      red = nil
    end
    local cached = raw and decode_jwks(raw)
    if cached then
      self.mem:set(src, cached, M.MEMORY_TTL, M.MEMORY_STALE)
      if kid == nil or has_kid(cached, kid) then
        red:close()
        return cached
      end
      jwks = cached
    end
  end

  -- The network: at most once per interval per worker, and for a kid
  -- missing from a key set that Redis has, once per interval for all.
  local last = self.fetched[src]
  local allowed = not last or now - last >= M.REFETCH_INTERVAL
  if allowed and jwks and red then
    -- Without an answer from Redis the worker's own interval decides.
    local res = red:eval(M.LOCK_SCRIPT, "tpa:jwks:lock:" .. crypto.hex(crypto.sha256(src)), M.REFETCH_INTERVAL)
    if res ~= nil then allowed = res == 1 end
  end
  if allowed then
    self.fetched[src] = now
    local body, err = self:download(entry)
    local fetched = body and decode_jwks(body)
    if fetched then
      self.mem:set(src, fetched, M.MEMORY_TTL, M.MEMORY_STALE)
      if red then red:eval(M.SET_SCRIPT, rkey, body, M.REDIS_TTL) end
      jwks = fetched
    else
      env.log("tpa_fetch", "ERR", "signing keys of issuer ", entry.issuer, " could not be fetched: ",
        err or "not a JWKS of at most " .. M.MAX_KEYS .. " keys")
    end
  end
  if red then red:close() end
  jwks = jwks or stale
  if not jwks then return nil, "no signing keys" end
  return jwks
end

-- authenticate(cfg, token) -> claims, or nil, status, code, message.
function Store:authenticate(cfg, token)
  local t = idtoken.decode(token)
  if not t then return nil, 401, "invalid_token", "malformed token" end
  local iss = t.claims.iss
  local entry
  for _, e in ipairs(cfg.third_party_auth or {}) do
    if type(iss) == "string" and e.issuer == iss then entry = e break end
  end
  if not entry then return nil, 401, "invalid_token", "issuer not allowed" end
  if entry.invalid then
    self.env.log("tpa_config", "ERR", "third-party auth entry of issuer ", iss, " is unusable: ", entry.invalid)
    return nil, 503, "issuer_misconfigured", "third-party auth of this issuer is misconfigured"
  end
  local kid = t.header.kid
  local jwks = self:keys(entry, type(kid) == "string" and kid or nil)
  if not jwks then
    return nil, 503, "jwks_unavailable", "the issuer's signing keys are unavailable"
  end
  local claims, why = idtoken.verify(token, jwks, { issuer = entry.issuer, audience = entry.audience,
    client_id = entry.client_id, token_use = entry.token_use, now = self.env.now(), leeway = M.LEEWAY })
  if not claims then return nil, 401, "invalid_token", why end
  return claims
end

return M
