#!/usr/bin/env node
// bench/callbacks.mjs - status callbacks under load: callbacks per second and the latency from
// a stored status event (the operator's receipt) to its callback arriving at the customer.
//
//   make && node bench/callbacks.mjs [--sms N] [--rate R] [--concurrency C] [--sim-delay-ms D]
//                                    [--json]
//
// It starts bin/smsgated on loopback (fresh data dir, plain HTTP only, the embedded sim route,
// --callback-allow-private), a node HTTP sink on loopback that answers 200 at once and records
// when each call arrived, creates an account, points its callBack at the sink, sends N SMS in
// jobs of up to 5,000 receivers as fast as the API takes them, and waits for the 2N callbacks
// (submitted 8, then delivered 1). Without --rate the N SMS go at once (a burst: the figures
// say how fast a backlog drains); with --rate R they go as jobs of R/10 receivers every 100 ms
// (steady load: R SMS/s, so 2R callbacks/s). Latency = arrival at the sink - the event's ts_ms in the
// database (the moment smsgated recorded the status, in the transaction that queued the call).
// Throughput = callbacks / (last arrival - first arrival).
// Both processes share the machine: the figures include the sink's and the sender's cost.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { arg, freePort, ovh, request, sleep } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.SMSGATE_BIN_DIR || path.join(ROOT, 'bin');

const N = arg('sms', 10000);
const CONC = arg('concurrency', 8);
const RATE = arg('rate', 0);
const SIM_DELAY = arg('sim-delay-ms', 200);
const JSON_OUT = process.argv.includes('--json');
const JOB = 5000;

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-bench-cb-'));
  const data = path.join(dir, 'data');

  // The sink.
  const arrivals = new Map(); // "id:dlr" -> ms
  let count = 0, first = 0, last = 0, dups = 0;
  const sink = http.createServer((req, res) => {
    const now = Date.now();
    const q = new URL(req.url, 'http://x').searchParams;
    const key = `${q.get('id')}:${q.get('dlr')}`;
    if (arrivals.has(key)) dups++;
    else arrivals.set(key, now);
    count++;
    first ||= now;
    last = now;
    res.end('ok');
  });
  sink.keepAliveTimeout = 60000;
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const sinkPort = sink.address().port;

  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'smsgated.log'), 'w');
  const proc = spawn(path.join(BIN, 'smsgated'), ['--data', data, '--listen', `127.0.0.1:${port}`,
    '--tls-listen', '', '--sim-delay-ms', String(SIM_DELAY), '--callback-allow-private',
    '--callback-host-concurrency', String(CONC), '--log-level', 'warn'],
  { stdio: ['ignore', log, log] });
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await request(port, 'GET', '/1.0/auth/time')).status === 200) break;
      } catch { /* not yet */ }
      if (i > 200) throw new Error('smsgated did not start');
      await sleep(25);
    }
    const ctl = spawnSync(path.join(BIN, 'smsctl'), ['--data', data, 'account', 'create', 'bench',
      '--credits', String(N * 2), '--json'], { encoding: 'utf8' });
    if (ctl.status !== 0) throw new Error(`smsctl: ${ctl.stderr}`);
    const keys = JSON.parse(ctl.stdout);
    const sn = keys.serviceName;
    await ovh(port, keys, 'PUT', `/sms/${sn}`, { callBack: `http://127.0.0.1:${sinkPort}/dlr` });

    const t0 = Date.now();
    const job = RATE ? Math.max(1, Math.round(RATE / 10)) : JOB;
    for (let sent = 0, k = 0; sent < N; sent += job, k++) {
      if (RATE) {
        const wait = t0 + k * 100 - Date.now();
        if (wait > 0) await sleep(wait);
      }
      const receivers = [];
      for (let i = sent; i < Math.min(N, sent + job); i++)
        receivers.push(`+3361${String(i * 10 + 5).padStart(7, '0')}`); // never ends in 901-904
      await ovh(port, keys, 'POST', `/sms/${sn}/jobs`,
        { message: 'bench', receivers, senderForResponse: true, noStopClause: true });
    }
    const tSent = Date.now();
    const want = 2 * N;
    while (arrivals.size < want) {
      if (Date.now() - tSent > 600000) throw new Error(`only ${arrivals.size}/${want} callbacks`);
      await sleep(50);
    }
    const tDone = Date.now();

    // Event times from the database (read-only, WAL: fine while smsgated runs).
    const q = spawnSync('sqlite3', ['-json', path.join(data, 'smsgate.db'),
      'SELECT message_id AS id, dlr, ts_ms FROM events WHERE dlr IN (1, 8)'],
    { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (q.status !== 0) throw new Error(`sqlite3: ${q.stderr}`);
    const lat = [], lat8 = [], lat1 = [];
    for (const e of JSON.parse(q.stdout)) {
      const at = arrivals.get(`${e.id}:${e.dlr}`);
      if (at === undefined) continue;
      const d = at - e.ts_ms;
      lat.push(d);
      (e.dlr === 8 ? lat8 : lat1).push(d);
    }
    for (const a of [lat, lat8, lat1]) a.sort((x, y) => x - y);
    const res = {
      sms: N, rate: RATE || null, callbacks: arrivals.size, duplicates: dups, hostConcurrency: CONC,
      simDelayMs: SIM_DELAY, sendSeconds: (tSent - t0) / 1000,
      callbacksPerSecond: Math.round(arrivals.size / ((last - first) / 1000)),
      latencyMs: { p50: pct(lat, 50), p99: pct(lat, 99), max: lat[lat.length - 1] },
      submittedLatencyMs: { p50: pct(lat8, 50), p99: pct(lat8, 99) },
      receiptLatencyMs: { p50: pct(lat1, 50), p99: pct(lat1, 99) },
      totalSeconds: (tDone - t0) / 1000,
      cpus: os.cpus().length,
    };
    if (JSON_OUT) {
      console.log(JSON.stringify(res));
    } else {
      console.log(`${res.callbacks} callbacks for ${N} SMS ${RATE ? `at ${RATE} SMS/s` : 'at once'} `
        + `(host concurrency ${CONC}, sim delay `
        + `${SIM_DELAY} ms, ${res.cpus} CPUs), ${dups} duplicates`);
      console.log(`  throughput: ${res.callbacksPerSecond} callbacks/s`);
      console.log(`  event -> callback latency: p50 ${res.latencyMs.p50} ms, p99 `
        + `${res.latencyMs.p99} ms, max ${res.latencyMs.max} ms`);
      const s8 = res.submittedLatencyMs;
      console.log(`    submitted (8): p50 ${s8.p50} ms, p99 ${s8.p99} ms;`
        + ` receipt (1): p50 ${res.receiptLatencyMs.p50} ms, p99 ${res.receiptLatencyMs.p99} ms`);
      console.log(`  sending took ${res.sendSeconds} s; everything ${res.totalSeconds} s`);
    }
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    sink.closeAllConnections();
    sink.close();
    if (!process.env.SMSGATE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
