-- wrk script: each connection writes `depth` requests (default 10) at once and
-- reads their answers, as a proxy that multiplexes many clients does.
-- Usage: wrk -s bench/pipeline.lua URL -- 10
init = function(args)
  local depth = tonumber(args[1]) or 10
  local r = {}
  for i = 1, depth do r[i] = wrk.format() end
  batch = table.concat(r)
end

request = function()
  return batch
end
