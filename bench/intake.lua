-- wrk script for bench_intake.py: POST pre-signed, unique webhook bodies.
-- BODIES names a file with one "signature<TAB>body" line per request; the threads take every
-- WRK_THREADS-th line from their own start, so no body is sent twice in a run.
local bodies = {}
local threads = {}
local counter = 0
local step = 1

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads - 1)
end

function init(args)
  for line in io.lines(os.getenv("BODIES")) do
    local tab = line:find("\t", 1, true)
    table.insert(bodies, {line:sub(1, tab - 1), line:sub(tab + 1)})
  end
  step = tonumber(os.getenv("WRK_THREADS") or "1")
  counter = id
end

function request()
  local item = bodies[(counter % #bodies) + 1]
  counter = counter + step
  return wrk.format("POST", "/webhooks/whatsapp/", {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = item[1],
  }, item[2])
end
