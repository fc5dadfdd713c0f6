-- What the handler specs set up alike: the plugin configuration, the ECS
-- task's credentials endpoint and the handler's dependencies over the fakes.
package.path = "./?.lua;" .. package.path
local cjson = require("cjson")
local fakes = require("spec.helpers.fakes")
local deps = require("kong.plugins.dynamic-lambda-router.deps")

local M = {}

M.TM = "http://tenant-manager.kong.local:8080"
M.CREDS_URL = "http://169.254.170.2/v2/credentials/task"
-- The project acme-prod the specs route to: its JWT secret and the Function
-- URLs of its PostgREST and edge functions Lambdas.
M.SECRET = "jwt-secret-of-acme-prod-0123456789abcdef"
M.FN_URL = "https://abcdefgh.lambda-url.eu-west-1.on.aws/"
M.FUNCS_URL = "https://fnfnfnfn.lambda-url.eu-west-1.on.aws/"

-- conf(extra) -> the plugin's configuration for /rest/v1 with a rate limit
-- of 100/s (burst 200); extra's fields replace its own.
function M.conf(extra)
  local c = {
    tenant_manager_url = M.TM, sts_endpoint = "https://sts.eu-west-1.amazonaws.com", aws_region = "eu-west-1",
    jwt_ttl = 300, cache_ttl = 300, memory_cache_ttl = 30, redis_host = "redis", redis_port = 6379,
    redis_password = "redis-auth-token", redis_ssl = true, redis_ssl_verify = true, redis_timeout_ms = 200,
    tenant_manager_timeout_ms = 2000, upstream_timeout_ms = 35000, strip_prefix = "/rest/v1",
    max_body_bytes = 1048576, memory_cache_max_items = 10000, stale_ttl = 300,
    tenant_manager_fallback_rate = 2, tenant_manager_fallback_burst = 3, redis_retry_seconds = 5,
    rate_limit_rps = 100, rate_limit_burst = 200, mode = "rest",
  }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

-- task_credentials(clock) -> a route of fakes.http answering as the ECS
-- credentials endpoint does: the task role's keys, valid for an hour.
function M.task_credentials(clock)
  return function()
    return 200, {}, cjson.encode({ AccessKeyId = "ASIATASK", SecretAccessKey = "task-secret-key",
      Token = "task-session-token", Expiration = os.date("!%Y-%m-%dT%H:%M:%SZ", clock.now + 3600) })
  end
end

-- task_env(before_each, after_each): around every test, os.getenv answers
-- AWS_CONTAINER_CREDENTIALS_RELATIVE_URI as in an ECS task, so the handler
-- asks CREDS_URL for its keys.
function M.task_env(before_each, after_each)
  local getenv
  before_each(function()
    getenv = os.getenv
    os.getenv = function(name)
      if name == "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" then return "/v2/credentials/task" end
      return getenv(name)
    end
  end)
  after_each(function() os.getenv = getenv end)
end

-- deps(w, ngx_req, extra) -> the handler's dependencies over world w (its
-- clock, http fake, redis fake and errlog): ngx_req() gives the request's
-- fake ngx.req; extra's fields are added or replace these.
function M.deps(w, ngx_req, extra)
  local clock = w.clock
  local d = {
    log = deps.error_log(w.errlog),
    now = function() return clock.now end,
    now_ms = function() return clock.now * 1000 + (clock.ms or 0) end,
    http = w.http.request,
    redis = function(c) return deps.redis_client(w.redis.module, fakes.NULL, c) end,
    ngx_req = ngx_req,
    worker_count = function() return 1 end,
  }
  for k, v in pairs(extra or {}) do d[k] = v end
  return d
end

return M
