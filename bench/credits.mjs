#!/usr/bin/env node
// bench/credits.mjs - what pricing sends from the store and automatic top-ups cost (issue #5).
//
//   make && node bench/credits.mjs [--sends N] [--concurrency C] [--jobs J] [--json]
//
// It starts bin/smsgated on loopback (fresh data dir, plain HTTP only, the embedded sim route)
// and measures, through signed OVH API calls on plain HTTP:
//   1. big jobs: J jobs of 5,000 receivers each (France; every message priced from the store's
//      table inside the send's transaction): milliseconds per job, median and worst;
//   2. a burst of N single-SMS sends from C connections at a time (after an unmeasured warm-up
//      burst), twice on fresh accounts: without automatic top-up, then with a top-up every 100
//      sends (amount 100 credits,
//      threshold 100, so the balance crosses it N/100 times): sends per second, and the number
//      of automatic orders against the number of crossings (they must be equal).
// Client and server share the machine: the figures include the client's cost.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.SMSGATE_BIN_DIR || path.join(ROOT, 'bin');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const SENDS = arg('sends', 2000);
const CONC = arg('concurrency', 32);
const JOBS = arg('jobs', 10);
const JSON_OUT = process.argv.includes('--json');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(port, method, target, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode, json: text ? JSON.parse(text) : undefined, text });
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function signed(port, keys, method, p, obj) {
  const target = '/1.0' + p;
  const body = obj ? JSON.stringify(obj) : '';
  const ts = String(Math.round(Date.now() / 1000));
  const sig = '$1$' + crypto.createHash('sha1').update([keys.applicationSecret, keys.consumerKey,
    method, `http://127.0.0.1:${port}${target}`, body, ts].join('+')).digest('hex');
  const headers = { 'Content-Type': 'application/json', 'X-Ovh-Application': keys.applicationKey,
    'X-Ovh-Consumer': keys.consumerKey, 'X-Ovh-Timestamp': ts, 'X-Ovh-Signature': sig };
  if (body) headers['Content-Length'] = Buffer.byteLength(body);
  return request(port, method, target, headers, body || undefined);
}

function smsctl(data, args) {
  const r = spawnSync(path.join(BIN, 'smsctl'), ['--data', data, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`smsctl ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function burst(port, keys, n, conc) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  async function worker() {
    while (next < n) {
      const i = next++;
      const r = await signed(port, keys, 'POST', `/sms/${keys.serviceName}/jobs`, {
        message: 'bench', noStopClause: true, senderForResponse: true,
        // Numbers ending in 0: never one of the sim's failing test numbers (901-904).
        receivers: [`+336${String(20000000 + 10 * i).padStart(8, '0')}`],
      });
      if (r.status !== 200) throw new Error(`send ${i}: ${r.status} ${r.text}`);
    }
  }
  await Promise.all(Array.from({ length: conc }, worker));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-bench-credits-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'smsgated.log'), 'w');
  const proc = spawn(path.join(BIN, 'smsgated'), ['--data', data, '--listen', `127.0.0.1:${port}`,
    '--tls-listen', '', '--sim-delay-ms', '200'], { stdio: ['ignore', log, log] });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await request(port, 'GET', '/1.0/auth/time', {})).status === 200) break;
      } catch { /* not yet */ }
      if (i > 200) throw new Error('smsgated did not start');
      await sleep(25);
    }
    const out = { sends: SENDS, concurrency: CONC, jobs: JOBS };

    // 1. Big jobs.
    const big = smsctl(data, ['account', 'create', 'bigjobs', '--credits', String(JOBS * 5000 + 10), '--json']);
    const times = [];
    for (let j = 0; j < JOBS; j++) {
      const receivers = Array.from({ length: 5000 }, (_, i) => `+336${String(30000000 + j * 5000 + i).padStart(8, '0')}`);
      const t0 = process.hrtime.bigint();
      const r = await signed(port, big, 'POST', `/sms/${big.serviceName}/jobs`,
        { message: 'bench', noStopClause: true, senderForResponse: true, receivers });
      if (r.status !== 200 || r.json.totalCreditsRemoved !== 5000) throw new Error(r.text);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    out.job5000_ms_median = Math.round(times[Math.floor(times.length / 2)]);
    out.job5000_ms_max = Math.round(times[times.length - 1]);

    // 2. Bursts, without and with automatic top-ups, after a warm-up burst (connections, the
    // phone number cache) that is not measured.
    const warm = smsctl(data, ['account', 'create', 'warmup', '--credits', String(SENDS + 10), '--json']);
    await burst(port, warm, SENDS, CONC);
    const plain = smsctl(data, ['account', 'create', 'plain', '--credits', String(SENDS + 10), '--json']);
    const s1 = await burst(port, plain, SENDS, CONC);
    out.sends_per_s_no_topup = Math.round(SENDS / s1);

    const auto = smsctl(data, ['account', 'create', 'auto', '--credits', '150', '--json']);
    const put = await signed(port, auto, 'PUT', `/sms/${auto.serviceName}`,
      { automaticRecreditAmount: 100, creditThresholdForAutomaticRecredit: 100 });
    if (put.status !== 200) throw new Error(put.text);
    const s2 = await burst(port, auto, SENDS, CONC);
    out.sends_per_s_topup_every_100 = Math.round(SENDS / s2);
    let b = 150, crossings = 0;
    for (let i = 0; i < SENDS; i++) {
      const before = b--;
      if (before >= 100 && b < 100) { b += 100; crossings++; }
    }
    const orders = smsctl(data, ['order', 'list', '--service', auto.serviceName, '--json']);
    out.crossings = crossings;
    out.automatic_orders = orders.length;
    const acc = await signed(port, auto, 'GET', `/sms/${auto.serviceName}`);
    out.final_balance = acc.json.creditsLeft;
    out.final_balance_expected = b;

    if (JSON_OUT) {
      console.log(JSON.stringify(out));
    } else {
      console.log(`jobs of 5000 receivers: median ${out.job5000_ms_median} ms, max ${out.job5000_ms_max} ms (${JOBS} jobs)`);
      console.log(`single sends, ${CONC} at a time: ${out.sends_per_s_no_topup}/s without top-up, ` +
        `${out.sends_per_s_topup_every_100}/s with a top-up every 100 sends`);
      console.log(`automatic orders: ${out.automatic_orders} for ${out.crossings} crossings; ` +
        `balance ${out.final_balance} (expected ${out.final_balance_expected})`);
    }
    if (out.automatic_orders !== crossings || out.final_balance !== b) process.exitCode = 1;
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    agent.destroy();
    if (process.exitCode) console.error(`kept ${dir} for inspection`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
