-- wrk script: BitTorrent announces with varying info_hash and peer_id.
--   wrk ... -s announce.lua URL -- HASHES_FILE PATH_PREFIX [PEERS_PER_THREAD [PEER_OFFSET]]
-- HASHES_FILE holds percent-encoded info-hashes, one per line; PATH_PREFIX
-- is "/announce/<passkey>" (blobswarm-tracker) or "/announce" (opentracker).
-- PEER_OFFSET shifts the peer ids (bench/soak uses new ones every slice).
-- Requests are prepared in init(), so Lua string building does not slow the
-- load generator down while it measures; done() prints one RESULT line.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local hashes = {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(hashes, line) end
  end
  local prefix = args[2]
  local peers = tonumber(args[3] or "10000")
  local offset = tonumber(args[4] or "0")
  math.randomseed(id * 7919)
  requests = {}
  for i = 1, peers do
    local h = hashes[math.random(#hashes)]
    -- 20 bytes: "-WK" .. thread .. "-" .. 14 digits
    local peer_id = string.format("-WK%1d-%015d", id % 10, offset + i)
    local left = (i % 4 == 0) and 0 or 65536
    local path = string.format(
      "%s?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1&numwant=50",
      prefix, h, peer_id, 10000 + (i % 50000), left)
    requests[i] = wrk.format("GET", path)
  end
end

function request()
  local r = requests[counter]
  counter = counter + 1
  if counter > #requests then counter = 1 end
  return r
end

function done(summary, latency, requests)
  -- Socket read errors are expected with opentracker, which closes every
  -- connection after replying; non-2xx answers are real errors.
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d\n",
                         summary.requests, summary.duration, latency:percentile(50),
                         latency:percentile(99), summary.errors.status))
end
