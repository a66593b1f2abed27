-- wrk script: count 2xx and other answers over all threads, and print one
-- line "paas: ok=N non2xx=N errors=N requests=N" when done (errors: socket
-- connect, read, write and timeout errors, then each kind apart).
-- WRK_DELAY_MS, when set, paces each connection (a steady load, not as
-- many requests as the machine can make).
local threads = {}
local pace = tonumber(os.getenv("WRK_DELAY_MS") or "")
if pace then
	function delay()
		return pace
	end
end

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	ok = 0
	bad = 0
end

function response(status, headers, body)
	if status >= 200 and status < 300 then
		ok = ok + 1
	else
		bad = bad + 1
		if bad <= 3 then
			io.stderr:write("status " .. status .. "\n")
		end
	end
end

function done(summary, latency, requests)
	local o, b = 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok")
		b = b + t:get("bad")
	end
	local e = summary.errors
	io.write(string.format("paas: ok=%d non2xx=%d errors=%d requests=%d p99_ms=%.1f" ..
		" connect=%d read=%d write=%d timeout=%d\n",
		o, b, e.connect + e.read + e.write + e.timeout, summary.requests,
		latency:percentile(99) / 1000, e.connect, e.read, e.write, e.timeout))
end
