#!/usr/bin/env node
// bench/campaign.mjs - a campaign of 200,000 receivers end to end: loading the CSV into a
// receivers slot, accepting the templated job, delivering every SMS and answering every
// status callback, with smsgated's peak RSS.
//
//   make && node bench/campaign.mjs [--rows N] [--sim-delay-ms D] [--concurrency C]
//                                   [--no-callbacks] [--runs R] [--json]
//
// It starts bin/smsgated on loopback (fresh data dir, plain HTTP only, the embedded sim route,
// --callback-allow-private), a node HTTP server serving the CSV (N rows: number;first;code,
// every number valid and delivered by the sim), and a node callback sink answering 200 at once.
// Then, with signed OVH API calls:
//   load     POST /sms/{sn}/receivers {csvUrl}: download, parse, normalise, store (the answer
//            comes once the slot is complete)
//   accept   POST /sms/{sn}/jobs {receiversSlotId, message with #first# and #code#}: the
//            fan-out transaction (render, price, debit, insert every message), answered after
//            its commit
//   delivered  from the job's POST until every SMS of the tag is delivered (tag statistics)
//   callbacks  from the job's POST until the sink got both callbacks of every SMS
//            (submitted 8, delivered 1)
//   peak RSS   VmHWM of smsgated at the end (/proc/PID/status)
// Every process shares the machine (smsgated's two threads, the node CSV server, the sink).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { arg, freePort, ovh, request, sleep } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.SMSGATE_BIN_DIR || path.join(ROOT, 'bin');

const N = arg('rows', 200000);
const SIM_DELAY = arg('sim-delay-ms', 200);
const CONC = arg('concurrency', 32);
const RUNS = arg('runs', 1);
const CALLBACKS = !process.argv.includes('--no-callbacks');
const JSON_OUT = process.argv.includes('--json');

function buildCsv() {
  const parts = ['number;first;code\r\n'];
  for (let i = 0; i < N; i++) parts.push(`+336${String(i * 10).padStart(8, '0')};Name${i};C${i % 997}\r\n`);
  return parts.join('');
}

async function once(csv) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-bench-camp-'));
  const data = path.join(dir, 'data');
  const csvSrv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/csv' });
    res.end(csv);
  });
  await new Promise((r) => csvSrv.listen(0, '127.0.0.1', r));

  const seen = new Set();
  let calls = 0, dups = 0;
  const sink = http.createServer((req, res) => {
    const q = new URL(req.url, 'http://x').searchParams;
    const key = `${q.get('id')}:${q.get('dlr')}`;
    if (seen.has(key)) dups++;
    else seen.add(key);
    calls++;
    res.end('ok');
  });
  sink.keepAliveTimeout = 60000;
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));

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
      '--credits', String(N + 1000), '--json'], { encoding: 'utf8' });
    if (ctl.status !== 0) throw new Error(`smsctl: ${ctl.stderr}`);
    const keys = JSON.parse(ctl.stdout);
    const sn = keys.serviceName;
    if (CALLBACKS) {
      await ovh(port, keys, 'PUT', `/sms/${sn}`, { callBack: `http://127.0.0.1:${sink.address().port}/dlr` });
    }

    let t = Date.now();
    const slot = await ovh(port, keys, 'POST', `/sms/${sn}/receivers`, { slotId: 1,
      description: 'bench', autoUpdate: false, csvUrl: `http://127.0.0.1:${csvSrv.address().port}/b.csv` });
    const loadMs = Date.now() - t;
    if (slot.validRecords !== N) throw new Error(`slot: ${JSON.stringify(slot).slice(0, 300)}`);

    const t0 = Date.now();
    const rep = await ovh(port, keys, 'POST', `/sms/${sn}/jobs`, { message: 'Hi #first#, code #code#',
      receiversSlotId: '1', senderForResponse: true, noStopClause: true, tag: 'bench' });
    const acceptMs = Date.now() - t0;
    if (rep.validReceiversCount !== N) throw new Error(`job: ${JSON.stringify(rep).slice(0, 300)}`);

    let deliveredMs = 0;
    for (;;) {
      const st = await ovh(port, keys, 'GET', `/sms/${sn}/tags/bench/statistics`);
      if (st.delivered === N) {
        deliveredMs = Date.now() - t0;
        break;
      }
      if (Date.now() - t0 > 1800000) throw new Error(`not delivered: ${JSON.stringify(st)}`);
      await sleep(200);
    }
    let callbacksMs = null;
    if (CALLBACKS) {
      while (seen.size < 2 * N) {
        if (Date.now() - t0 > 1800000) throw new Error(`only ${seen.size}/${2 * N} callbacks`);
        await sleep(100);
      }
      callbacksMs = Date.now() - t0;
    }
    const st = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const hwm = Number(st.match(/^VmHWM:\s+(\d+) kB/m)[1]);
    return { rows: N, loadMs, acceptMs, deliveredMs, callbacksMs, callbacks: calls, duplicates: dups,
      peakRssMB: Math.round(hwm / 102.4) / 10, simDelayMs: SIM_DELAY, hostConcurrency: CONC,
      cpus: os.cpus().length };
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
    for (const s of [sink, csvSrv]) {
      s.closeAllConnections();
      s.close();
    }
    if (!process.env.SMSGATE_KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
    else console.error(`kept ${dir}`);
  }
}

async function main() {
  const csv = buildCsv();
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await once(csv);
    runs.push(r);
    if (JSON_OUT) {
      console.log(JSON.stringify(r));
    } else {
      console.log(`run ${i + 1}: ${N} rows (${(csv.length / 1048576).toFixed(1)} MiB CSV), sim delay `
        + `${SIM_DELAY} ms, ${r.cpus} CPUs: load ${r.loadMs} ms, accept ${r.acceptMs} ms, all `
        + `delivered ${r.deliveredMs} ms after the job's POST`
        + (CALLBACKS ? `, every callback answered at ${r.callbacksMs} ms (${r.callbacks} calls, `
          + `${r.duplicates} duplicates, ${CONC} per host)` : '')
        + `; peak RSS ${r.peakRssMB} MB`);
    }
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
