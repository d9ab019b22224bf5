#!/usr/bin/env node
// bench/smpp.mjs - end-to-end throughput of the SMPP route (issue #3): submits per second and
// receipts per second through one bind and through four binds to the npm `smpp` simulator.
//
//   make && node bench/smpp.mjs [--messages N] [--runs R] [--window W] [--json]
//
// For each bind count (1, then 4) and each run: a fresh smsgated on loopback (new data dir,
// plain HTTP, durable SQLite), one SMPP route for +33 to the simulator (bench/smpp_smsc.mjs,
// its own process; transceiver binds, window W, no rate limit, a receipt for every message at
// once), and N messages sent as jobs of 1,000 receivers through the signed OVH API. Measured
// at the simulator: submits/s = N / (last submit_sm - first submit_sm); receipts/s = N /
// (last deliver_sm_resp OK - first one), an acknowledgement meaning smsgated has committed the
// receipt. Everything shares the 2-core machine: smsgated, the simulator and the client.
import { fork, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.SMSGATE_BIN_DIR || path.join(ROOT, 'bin');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('messages', 20000);
const RUNS = arg('runs', 3);
const WINDOW = arg('window', 100);
const JSON_OUT = process.argv.includes('--json');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
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
  return r.stdout;
}

function ask(child, msg) {
  return new Promise((resolve) => { child.once('message', resolve); child.send(msg); });
}

async function oneRun(binds) {
  const smsc = fork(path.join(ROOT, 'bench/smpp_smsc.mjs'), [], { stdio: 'inherit' });
  await new Promise((resolve) => smsc.once('message', resolve)); /* ready */
  const { port: smscPort } = await ask(smsc, { cmd: 'start' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-bench-smpp-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'smsgated.log'), 'w');
  const srv = spawn(path.join(BIN, 'smsgated'), ['--data', data, '--listen', `127.0.0.1:${port}`,
    '--tls-listen', '', '--log-level', 'warn'], { stdio: ['ignore', log, log] });
  try {
    for (let i = 0; i < 200; i++) {
      try { if ((await request(port, 'GET', '/1.0/auth/time', {})).status === 200) break; } catch { /* not yet */ }
      await sleep(25);
    }
    smsctl(data, ['route', 'add', 'bench', '--smpp', `127.0.0.1:${smscPort}`, '--system-id', 'bench',
      '--prefix', '+33', '--binds', String(binds), '--window', String(WINDOW)]);
    for (let i = 0; i < 200; i++) {
      const st = JSON.parse(smsctl(data, ['route', 'status', '--json'])).find((r) => r.name === 'bench');
      if (st.binds.every((b) => b.state === 'BOUND')) break;
      await sleep(25);
    }
    const keys = JSON.parse(smsctl(data, ['account', 'create', `bench${binds}`, '--credits', String(N + 10), '--json']));
    const sn = keys.serviceName;
    await ask(smsc, { cmd: 'reset' });
    const jobs = [];
    for (let k = 0; k < N; k += 1000) {
      const receivers = [];
      for (let i = k; i < Math.min(N, k + 1000); i++) receivers.push(`+3361${String(i).padStart(7, '0')}`);
      jobs.push(signed(port, keys, 'POST', `/sms/${sn}/jobs`, { message: 'bench', noStopClause: true,
        senderForResponse: true, receivers }));
    }
    for (const r of await Promise.all(jobs)) if (r.status !== 200) throw new Error(r.text);
    let st;
    const deadline = Date.now() + 300000;
    do {
      await sleep(200);
      st = await ask(smsc, { cmd: 'stats' });
    } while ((st.submits < N || st.acked < N) && Date.now() < deadline);
    if (st.submits < N || st.acked < N) throw new Error(`incomplete run: ${JSON.stringify(st)}`);
    return {
      binds, submitsPerS: Math.round(N / ((st.lastSubmit - st.firstSubmit) / 1000)),
      receiptsPerS: Math.round(N / ((st.lastAck - st.firstAck) / 1000)),
      duplicates: st.submits - N,
    };
  } finally {
    srv.kill('SIGTERM');
    await new Promise((r) => srv.on('exit', r));
    smsc.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const results = [];
for (const binds of [1, 4]) {
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await oneRun(binds));
  results.push({
    binds, runs,
    submitsPerS: median(runs.map((x) => x.submitsPerS)),
    receiptsPerS: median(runs.map((x) => x.receiptsPerS)),
  });
}
if (JSON_OUT) {
  console.log(JSON.stringify({ messages: N, window: WINDOW, results }, null, 2));
} else {
  console.log(`${N} messages per run, window ${WINDOW} per bind, ${RUNS} runs (median [min-max])`);
  for (const r of results) {
    const s = r.runs.map((x) => x.submitsPerS), c = r.runs.map((x) => x.receiptsPerS);
    console.log(`${r.binds} bind(s): submits/s ${r.submitsPerS} [${Math.min(...s)}-${Math.max(...s)}], `
      + `receipts/s ${r.receiptsPerS} [${Math.min(...c)}-${Math.max(...c)}]`);
  }
}
