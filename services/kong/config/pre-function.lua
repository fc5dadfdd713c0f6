-- Kong pre-function (access phase) of the /rest/v1 and /functions/v1 routes,
-- which takes the project from the Host or X-Project-ID (docs/architecture.md,
-- "Request path"). render.lua puts the platform domain in PLATFORM_DOMAIN
-- ("" in no-domain mode).
local PLATFORM_DOMAIN = __PLATFORM_DOMAIN__

local project
if PLATFORM_DOMAIN ~= "" then
  -- https://<project>.<domain>: the project is the Host's first label, and
  -- a client-sent X-Project-ID is ignored (overwritten below).
  local host = (kong.request.get_host() or ""):lower()
  local suffix = "." .. PLATFORM_DOMAIN
  if #host > #suffix and host:sub(-#suffix) == suffix then
    project = host:sub(1, #host - #suffix)
  end
else
  project = kong.request.get_header("X-Project-ID")
end
if type(project) ~= "string" or #project < 3 or #project > 40
  or not project:match("^[a-z][a-z0-9%-]*[a-z0-9]$") or project:find("--", 1, true) then
  return kong.response.exit(400, { message = "Unknown project: call https://<project>." ..
    (PLATFORM_DOMAIN ~= "" and PLATFORM_DOMAIN or "<domain>") .. " or send the X-Project-ID header" })
end
kong.ctx.shared.project_id = project
kong.service.request.set_header("X-Project-ID", project)

-- supabase-js sends the key as "Authorization: Bearer sb_…" too; key-auth
-- reads only apikey, so copy an opaque key there when apikey is absent.
local apikey = kong.request.get_header("apikey")
if not apikey or apikey == "" then
  local key = (kong.request.get_header("Authorization") or ""):match("^[Bb]earer%s+(sb_%S+)$")
  if key then
    kong.service.request.set_header("apikey", key)
  end
end
