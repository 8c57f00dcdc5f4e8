-- wrk script: POST /h/hash with one image as a multipart upload (args: IMAGE_FILE).
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local bytes = f:read("*a")
  f:close()
  local b = "hashsieve-bench-boundary"
  wrk.method = "POST"
  wrk.path = "/h/hash"
  wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. b
  wrk.body = "--" .. b .. "\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.jpg\"\r\n"
    .. "Content-Type: image/jpeg\r\n\r\n" .. bytes .. "\r\n--" .. b .. "--\r\n"
end
