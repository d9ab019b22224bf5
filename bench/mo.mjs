#!/usr/bin/env node
// bench/mo.mjs - incoming SMS (issue 14): messages from mobiles stored and attributed per second
// through one SMPP bind.
//
//   make && node bench/mo.mjs [--messages N] [--mobiles M] [--window W] [--runs R]
//                             [--database CONNINFO] [--json]
//
// Each run: a fresh smsgated on loopback (new data dir, plain HTTP; durable SQLite, or the
// PostgreSQL database given with --database, which must be empty), the npm `smpp` simulator
// of tests/integration/lib/smsc.mjs in its own process (this file, forked with --smsc), one
// SMPP route with one transceiver bind to it. A service first sends M SMS from its short number
// through the sim route (the SMPP route only serves +44), so that M mobiles have an SMS to
// answer. Then the simulator sends N deliver_sm on the bind, W at most unanswered at a time:
// 9 in 10 from those mobiles to the short number (replies, attributed to the service through
// the reply window), 1 in 10 from unknown numbers (kept unattributed). Measured at the
// simulator: MO/s = N / (last deliver_sm_resp - first deliver_sm), a response with status 0
// meaning smsgated has committed the message (stored before it is acknowledged). Afterwards
// the incoming table is counted (the rows of this route: the sim route answers the mobiles
// ending in 905 and 906 itself): N rows, and the replies attributed. Bounded: at most N
// messages and 120 s per run. Everything shares the machine: smsgated, the simulator and this
// client.
import { fork, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

import { arg, freePort, ovh, request, sleep } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = process.env.SMSGATE_BIN_DIR || path.join(ROOT, 'bin');
const N = arg('messages', 30000);
const MOBILES = arg('mobiles', 1000);
const WINDOW = arg('window', 200);
const RUNS = arg('runs', 1);
const JSON_OUT = process.argv.includes('--json');
const dbi = process.argv.indexOf('--database');
const DATABASE = dbi > 0 ? process.argv[dbi + 1] : '';
const mobile = (i) => `3361${String(i).padStart(7, '0')}`;

// ---- the simulator's process ----
if (process.argv.includes('--smsc')) {
  const { Smsc } = await import('../tests/integration/lib/smsc.mjs');
  const smpp = createRequire(import.meta.url)('../tests/integration/node_modules/smpp');
  const smsc = new Smsc({ systemId: 'bench' });
  process.on('message', async (m) => {
    if (m.cmd === 'start') {
      await smsc.start();
      process.send({ port: smsc.port });
    } else if (m.cmd === 'bound') {
      process.send({ n: smsc.boundReceivers('bench').length });
    } else if (m.cmd === 'blast') {
      const [s] = smsc.boundReceivers('bench');
      let sent = 0, ok = 0, failed = 0, inflight = 0, first = 0, last = 0;
      const deadline = Date.now() + 120000;
      await new Promise((resolve) => {
        const pump = () => {
          while (inflight < m.window && sent < m.n && Date.now() < deadline) {
            const i = sent++;
            const from = i % 10 === 9 ? `4479${String(i).padStart(8, '0')}` : mobile(i % m.mobiles);
            const pdu = new smpp.PDU('deliver_sm', {
              source_addr_ton: 1, source_addr_npi: 1, source_addr: from, dest_addr_ton: 3,
              dest_addr_npi: 0, destination_addr: '36184', esm_class: 0, data_coding: 0,
              short_message: Buffer.from(`Oui merci ${i}`, 'latin1'),
            });
            inflight++;
            if (!first) first = performance.now();
            s.send(pdu, (resp) => {
              inflight--;
              if (resp.command_status === 0) ok++; else failed++;
              last = performance.now();
              if (ok + failed === m.n || (sent === ok + failed && Date.now() >= deadline)) resolve();
              else pump();
            });
          }
        };
        pump();
      });
      process.send({ sent, ok, failed, first, last });
    } else if (m.cmd === 'exit') {
      await smsc.stop();
      process.exit(0);
    }
  });
  process.send({ ready: true });
} else {
  await main();
}

function ask(child, msg) {
  return new Promise((resolve) => { child.once('message', resolve); child.send(msg); });
}

function smsctl(data, args) {
  const r = spawnSync(path.join(BIN, 'smsctl'), ['--data', data, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`smsctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// One number out of the database.
function count(data, sql) {
  const r = DATABASE
    ? spawnSync('psql', [DATABASE, '-Atc', sql], { encoding: 'utf8' })
    : spawnSync('sqlite3', [path.join(data, 'smsgate.db'), sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${sql}: ${r.stderr}`);
  return Number(r.stdout.trim());
}

async function oneRun() {
  const smsc = fork(fileURLToPath(import.meta.url), ['--smsc'], { stdio: 'inherit' });
  await new Promise((resolve) => smsc.once('message', resolve)); /* ready */
  const { port: smscPort } = await ask(smsc, { cmd: 'start' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-bench-mo-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  const log = fs.openSync(path.join(dir, 'smsgated.log'), 'w');
  const args = ['--data', data, '--listen', `127.0.0.1:${port}`, '--tls-listen', '',
    '--log-level', 'warn', '--sim-delay-ms', '50'];
  if (DATABASE) args.push('--database', DATABASE);
  const srv = spawn(path.join(BIN, 'smsgated'), args, { stdio: ['ignore', log, log] });
  try {
    for (let i = 0; i < 200; i++) {
      try { if ((await request(port, 'GET', '/1.0/auth/time', {})).status === 200) break; } catch { /* not yet */ }
      await sleep(25);
    }
    const keys = JSON.parse(smsctl(data, ['account', 'create', 'benchmo', '--credits',
      String(MOBILES + 10), '--json']));
    const sn = keys.serviceName;
    for (let k = 0; k < MOBILES; k += 1000) {
      const receivers = [];
      for (let i = k; i < Math.min(MOBILES, k + 1000); i++) receivers.push(`+${mobile(i)}`);
      await ovh(port, keys, 'POST', `/sms/${sn}/jobs`, { message: 'Venez-vous ?', noStopClause: true,
        senderForResponse: true, receivers });
    }
    smsctl(data, ['route', 'add', 'bench', '--smpp', `127.0.0.1:${smscPort}`, '--system-id', 'bench',
      '--prefix', '+44', '--binds', '1']);
    for (let i = 0; i < 400 && (await ask(smsc, { cmd: 'bound' })).n < 1; i++) await sleep(25);
    const st = await ask(smsc, { cmd: 'blast', n: N, window: WINDOW, mobiles: MOBILES });
    if (st.ok !== N) throw new Error(`incomplete run: ${JSON.stringify(st)}`);
    const rows = count(data, "SELECT COUNT(*) FROM incoming WHERE route = 'bench'");
    const attributed = count(data, "SELECT COUNT(*) FROM incoming WHERE route = 'bench' AND service_id <> 0 AND reply_to_id <> 0");
    const replies = N - Math.floor(N / 10);
    return {
      moPerS: Math.round(N / ((st.last - st.first) / 1000)), stored: rows, attributed,
      expectedAttributed: replies, ok: rows === N && attributed === replies,
    };
  } finally {
    srv.kill('SIGTERM');
    await new Promise((r) => srv.on('exit', r));
    smsc.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const runs = [];
  for (let r = 0; r < RUNS; r++) runs.push(await oneRun());
  const rates = runs.map((x) => x.moPerS).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)];
  if (JSON_OUT) {
    console.log(JSON.stringify({ messages: N, mobiles: MOBILES, window: WINDOW,
      store: DATABASE ? 'postgresql' : 'sqlite', runs, median }, null, 2));
  } else {
    console.log(`${N} incoming SMS per run through 1 bind, window ${WINDOW}, `
      + `${DATABASE ? 'PostgreSQL' : 'SQLite'}, ${RUNS} run(s)`);
    for (const x of runs)
      console.log(`  ${x.moPerS} MO/s; stored ${x.stored}, attributed ${x.attributed}/${x.expectedAttributed}`
        + (x.ok ? '' : '  MISMATCH'));
    console.log(`median ${median} MO/s [${rates[0]}-${rates[rates.length - 1]}]`);
  }
  if (runs.some((x) => !x.ok)) process.exit(1);
}
