-- wrk script: POST /v1/match with the first BATCH hashes of a query file (args: FILE BATCH).
function init(args)
  local n = tonumber(args[2])
  local hashes = {}
  for line in io.lines(args[1]) do
    if #hashes >= n then break end
    hashes[#hashes + 1] = '"' .. line .. '"'
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"signal_type":"pdq","hashes":[' .. table.concat(hashes, ",") .. ']}'
  wrk.path = "/v1/match"
end
