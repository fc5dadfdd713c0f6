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
          -- The route prefix PostgREST does not know about.
          { strip_prefix = { type = "string", default = "/rest/v1" } },
        },
      },
    },
  },
}
