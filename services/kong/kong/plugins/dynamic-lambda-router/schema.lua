local typedefs = require("kong.db.schema.typedefs")

return {
  name = "dynamic-lambda-router",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { tenant_manager_url = typedefs.url({ required = true }) },
          { sts_endpoint = typedefs.url({ required = true }) },
          { aws_region = { type = "string", required = true, match = "^[a-z]+%-[a-z%-]+%-%d$" } },
          { jwt_ttl = { type = "integer", default = 300, between = { 30, 3600 } } },
          { cache_ttl = { type = "integer", default = 300, between = { 1, 3600 } } },
          -- Short, so a rotated JWT secret reaches every worker quickly.
          { memory_cache_ttl = { type = "integer", default = 30, between = { 1, 300 } } },
          { redis_host = { type = "string", required = true } },
          { redis_port = typedefs.port({ default = 6379 }) },
          -- A vault reference such as {vault://env/kong-redis-password}, so
          -- the token never lands in Kong's database.
          { redis_password = { type = "string", referenceable = true, encrypted = true } },
          { redis_ssl = { type = "boolean", default = true } },
          { redis_ssl_verify = { type = "boolean", default = true } },
          { redis_timeout_ms = { type = "integer", default = 200, between = { 10, 10000 } } },
          { tenant_manager_timeout_ms = { type = "integer", default = 2000, between = { 100, 30000 } } },
          { upstream_timeout_ms = { type = "integer", default = 35000, between = { 1000, 900000 } } },
          -- The route prefix the Lambda does not know about.
          { strip_prefix = { type = "string", default = "/rest/v1" } },
          -- Largest request body forwarded; nginx's client_max_body_size is
          -- set to the same value. Lambda takes at most 6 MB per synchronous
          -- invocation.
          { max_body_bytes = { type = "integer", default = 1048576, between = { 1024, 6291456 } } },
          { memory_cache_max_items = { type = "integer", default = 10000, between = { 100, 1000000 } } },
          -- How long past its memory TTL a project's config may still be
          -- used when neither Redis nor the tenant-manager answers; 0 = never.
          { stale_ttl = { type = "integer", default = 300, between = { 0, 3600 } } },
          -- Per worker, while Redis is down: config API calls per second and
          -- the burst saved up for them.
          { tenant_manager_fallback_rate = { type = "number", default = 5, between = { 0.1, 1000 } } },
          { tenant_manager_fallback_burst = { type = "integer", default = 10, between = { 1, 1000 } } },
          -- After a Redis failure a worker leaves Redis alone this long, so
          -- an unreachable Redis does not add its timeout to every request.
          { redis_retry_seconds = { type = "integer", default = 5, between = { 1, 60 } } },
          -- A project's requests per second and burst when neither its
          -- control hash nor its config document sets them; 0 = no limit.
          { rate_limit_rps = { type = "integer", default = 100, between = { 0, 1000000 } } },
          { rate_limit_burst = { type = "integer", default = 200, between = { 0, 1000000 } } },
          -- rest: the project's PostgREST Lambda (function_url);
          -- functions: its edge functions Lambda (functions_url), which
          -- gets /<slug>/... only.
          { mode = { type = "string", default = "rest", one_of = { "rest", "functions" } } },
        },
      },
    },
  },
}
