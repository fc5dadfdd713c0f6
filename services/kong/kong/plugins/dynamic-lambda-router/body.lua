-- Reads the client's request body, whole, wherever nginx put it.
--
-- nginx keeps a body in memory only up to client_body_buffer_size and
-- writes a larger one (or, depending on the nginx version and protocol,
-- part of a chunked one) to a temporary file. ngx.req.get_body_data() then
-- returns nil and kong.request.get_raw_body() fails, which once made the
-- gateway forward chunked bodies as empty. So the body file is read too,
-- and a body that cannot be read is refused, never replaced by "".
local M = {}

-- read(req, opts) -> body | nil, status, message
--   req  = ngx.req (read_body, get_body_data, get_body_file)
--   opts = {limit, content_length (header value or nil), open = io.open}
function M.read(req, opts)
  local limit = opts.limit
  local declared
  if opts.content_length ~= nil then
    declared = tonumber(opts.content_length)
    if not declared or declared < 0 or declared % 1 ~= 0 then
      return nil, 400, "Invalid Content-Length"
    end
    -- nginx refuses these itself when client_max_body_size is in step;
    -- this keeps the limit when it is not.
    if declared > limit then
      return nil, 413, "Request body too large: the limit is " .. limit .. " bytes"
    end
  end

  -- read_body throws when the client aborts or sends a malformed chunked
  -- body (it may also end the request itself with nginx's status).
  local ok, err = pcall(req.read_body)
  if not ok then
    return nil, 400, "Request body could not be read", err
  end

  local data = req.get_body_data()
  if not data then
    local path = req.get_body_file()
    if path then
      local f, oerr = (opts.open or io.open)(path, "rb")
      if not f then
        return nil, 500, "Request body could not be read", oerr
      end
      local size = f:seek("end")
      if not size then
        f:close()
        return nil, 500, "Request body could not be read", "seek failed"
      end
      if size > limit then
        f:close()
        return nil, 413, "Request body too large: the limit is " .. limit .. " bytes"
      end
      f:seek("set", 0)
      data = size > 0 and f:read(size) or ""
      f:close()
      if not data or #data ~= size then
        return nil, 500, "Request body could not be read", "short read"
      end
    else
      -- Neither in memory nor in a file: the body is empty, which a
      -- declared length must agree with.
      data = ""
    end
  end

  if #data > limit then
    return nil, 413, "Request body too large: the limit is " .. limit .. " bytes"
  end
  if declared and #data ~= declared then
    return nil, 500, "Request body could not be read", "got " .. #data .. " of " .. declared .. " bytes"
  end
  return data
end

return M
