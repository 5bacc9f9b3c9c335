-- wrk script that fills a tracker: every torrent gets PEERS peers (one
-- seeder, the rest leechers), each announced once; then the thread touches
-- DONE_DIR/<thread> and repeats its last announce (adding nobody) until the
-- caller ends wrk. Stopping the thread instead could drop requests other
-- connections had not sent yet.
--   wrk -t2 ... -s fill.lua URL -- HASHES_FILE PATH_PREFIX PEERS THREADS DONE_DIR
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  hashes = {}
  for line in io.lines(args[1]) do
    if #line > 0 then table.insert(hashes, line) end
  end
  prefix = args[2]
  peers = tonumber(args[3])
  nthreads = tonumber(args[4])
  done_dir = args[5]
  total = #hashes * peers
  next_index = id - 1  -- this thread's share: indices id-1, id-1+nthreads, ...
  finished = false
  last = nil
  -- wrk calls request() once on its first thread's state to check the
  -- request, and never sends that one: repeat it.
  verify_call = (id == 1)
end

function request()
  if verify_call then
    verify_call = false
    local saved = next_index
    local r = request()
    next_index = saved
    return r
  end
  if next_index >= total then
    if not finished then
      finished = true
      local f = io.open(done_dir .. "/" .. id, "w")
      f:close()
    end
    return last
  end
  local i = next_index
  next_index = next_index + nthreads
  local torrent = math.floor(i / peers) + 1
  local p = i % peers
  local path = string.format(
    "%s?info_hash=%s&peer_id=-FL0-%015d&port=%d&uploaded=0&downloaded=0&left=%d&compact=1&numwant=50",
    prefix, hashes[torrent], i, 10000 + p, (p == 0) and 0 or 65536)
  last = wrk.format("GET", path)
  return last
end
