-- bench/compare_wrk.lua - the wrk script of bench/compare.mjs: single-receiver sends, as cheap
-- to produce as a load tool can make them, against smsgated or Kannel.
--
--   BENCH_SYSTEM=smsgate BENCH_BASE=http://127.0.0.1:PORT BENCH_SN=sms-x-1 BENCH_AK=.. \
--   BENCH_AS=.. BENCH_CK=.. BENCH_START=0 wrk -t1 -c64 -d5s -s bench/compare_wrk.lua URL
--   BENCH_SYSTEM=kannel BENCH_SINK=PORT BENCH_START=0 wrk ... -s bench/compare_wrk.lua URL
--
-- smsgate: every request is signed here, exactly as the OVH SDKs sign (docs/smsctl.md):
-- "$1$" + sha1_hex(AS+"+"+CK+"+"+METHOD+"+"+URL+"+"+BODY+"+"+TIMESTAMP), with the current
-- time as the timestamp, so the server's default timestamp window is enough and nothing is
-- pre-signed. SHA-1 is written below (FIPS 180-4) on LuaJIT's bit library, which wrk links.
-- kannel: GET /cgi-bin/sendsms with dlr-mask 31 and a dlr-url to the sink (bench/compare_sink).
-- Message i goes to +3361 followed by i on 7 digits, i counting from BENCH_START; run with one
-- thread (-t1) so that the numbers are unique.
local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, rol, tobit, tohex = bit.lshift, bit.rshift, bit.rol, bit.tobit, bit.tohex
local byte, char, rep, format = string.byte, string.char, string.rep, string.format

local function sha1_hex(msg)
    local len = #msg
    local bits = len * 8
    msg = msg .. "\128" .. rep("\0", (55 - len) % 64) .. char(0, 0, 0, 0,
        band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255),
        band(bits, 255))
    local h0, h1, h2, h3, h4 = tobit(0x67452301), tobit(0xEFCDAB89), tobit(0x98BADCFE),
        tobit(0x10325476), tobit(0xC3D2E1F0)
    local w = {}
    for chunk = 1, #msg, 64 do
        for i = 0, 15 do
            local a1, a2, a3, a4 = byte(msg, chunk + i * 4, chunk + i * 4 + 3)
            w[i] = bor(lshift(a1, 24), lshift(a2, 16), lshift(a3, 8), a4)
        end
        for i = 16, 79 do
            w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
        end
        local a, b, c, d, e = h0, h1, h2, h3, h4
        for i = 0, 79 do
            local f, k
            if i < 20 then
                f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
            elseif i < 40 then
                f, k = bxor(b, c, d), 0x6ED9EBA1
            elseif i < 60 then
                f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
            else
                f, k = bxor(b, c, d), 0xCA62C1D6
            end
            local t = tobit(rol(a, 5) + f + e + k + w[i])
            e, d, c, b, a = d, c, rol(b, 30), a, t
        end
        h0, h1, h2 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c)
        h3, h4 = tobit(h3 + d), tobit(h4 + e)
    end
    return tohex(h0, 8) .. tohex(h1, 8) .. tohex(h2, 8) .. tohex(h3, 8) .. tohex(h4, 8)
end

local system = os.getenv("BENCH_SYSTEM") or "smsgate"
local start = tonumber(os.getenv("BENCH_START") or "0")
local base, sn = os.getenv("BENCH_BASE"), os.getenv("BENCH_SN")
local ak, as, ck = os.getenv("BENCH_AK"), os.getenv("BENCH_AS"), os.getenv("BENCH_CK")
local sink = os.getenv("BENCH_SINK")
local counter = 0

-- A self-check of the hash against a known answer ("abc", FIPS 180 example).
assert(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d", "SHA-1 self-check failed")

request = function()
    local i = start + counter
    counter = counter + 1
    local rcv = format("+3361%07d", i)
    if system == "kannel" then
        return wrk.format("GET", "/cgi-bin/sendsms?username=bench&password=bench&from=36184"
            .. "&to=%2B" .. rcv:sub(2) .. "&text=bench&dlr-mask=31&dlr-url="
            .. "http%3A%2F%2F127.0.0.1%3A" .. sink .. "%2Fk%3Fi%3D" .. i .. "%26t%3D%25d")
    end
    local path = "/1.0/sms/" .. sn .. "/jobs"
    local body = '{"message":"bench","receivers":["' .. rcv
        .. '"],"senderForResponse":true,"noStopClause":true}'
    local ts = tostring(os.time())
    local sig = "$1$" .. sha1_hex(as .. "+" .. ck .. "+POST+" .. base .. path .. "+" .. body
        .. "+" .. ts)
    return wrk.format("POST", path, {
        ["Content-Type"] = "application/json",
        ["X-Ovh-Application"] = ak,
        ["X-Ovh-Consumer"] = ck,
        ["X-Ovh-Timestamp"] = ts,
        ["X-Ovh-Signature"] = sig,
    }, body)
end

done = function(summary, latency, requests)
    io.write(format('BENCH {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,'
        .. '"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n', summary.requests,
        summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
        summary.errors.write, summary.errors.timeout, latency:percentile(50),
        latency:percentile(99)))
end
