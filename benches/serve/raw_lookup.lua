-- wrk script: GET /m/raw_lookup for each hash of a query file in turn (args: QUERY_FILE).
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = "/m/raw_lookup?signal_type=pdq&include_distance=true&signal=" .. line
  end
  i = math.random(#paths)
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
