#!/usr/bin/env node
// bench/compare.mjs - smsgated against Kannel, same workload, same machine, same run
// (issue #7; docs/benchmarks.md has the latest output and what limits each figure).
//
//   make && node bench/compare.mjs            # the whole comparison, about 5 minutes
//   options: --messages N (20000)  --concurrency C (64)  --runs R (3)  --rate S (3000)
//            --rate-seconds T (10) --wrk-seconds W (5; 0 = no wrk) --soak M (1000000; 0 = none)
//            --systems smsgate,kannel  --json  --keep (keep the temporary directories)
//            --perf FILE (perf record smsgated into FILE; BENCH_PERF_CG=dwarf for call graphs)
//            --store postgres: smsgated on SQLite, on PostgreSQL with one node and with two nodes
//              (systems smsgate, smsgate-pg, smsgate-pg2; offered load 2,000/s by default), each
//              PostgreSQL a throw-away cluster of scripts/pg-scratch on this machine, reached
//              over its unix socket as docs/cluster.md advises on one host (BENCH_PG_TCP=1:
//              over 127.0.0.1 instead)
//            --metrics-ab: smsgated with its Prometheus listener on (scraped every
//              --scrape-ms, 1000 by default) against smsgated with it off (--metrics-listen ''),
//              in the same run, runs interleaved (systems smsgate and smsgate-nometrics; no wrk,
//              no soak unless asked): CPU per message of each and their ratio (docs/metrics.md)
//
// Peers, each in its own process and shared by both systems (bench/compare_*.mjs):
//   SMSC simulator  the integration tests' simulator on the npm `smpp` package: accepts every
//                   submit_sm, sends its delivery receipt at once, records when each arrived;
//   callback sink   answers 200 at once, records when each message's FINAL callback arrived;
//   load generator  N single-receiver sends at concurrency C over keep-alive HTTP: signed OVH
//                   POST /1.0/sms/{sn}/jobs to smsgated, GET /cgi-bin/sendsms to Kannel.
//   The sink and the load generator speak HTTP/1.1 by hand over node's net module: node's
//   http module cost ~90 us per request on each side, more than a fast server.
// Systems under test, started afresh for every run:
//   smsgated  durable SQLite (WAL, synchronous=FULL: a send is answered after its fsync), one
//             SMPP route (smsctl route add, one transceiver bind, window 200) to the simulator,
//             the sim route disabled, the service's callBack pointing at the sink;
//   Kannel    bearerbox + smsbox from Debian's package (bench/kannel/install.sh installs it),
//             configured by bench/kannel/kannel.conf.in: one SMPP transceiver, window 200, its
//             store on, dlr-mask 31 with a dlr-url to the sink.
// Workloads, per run and system: a burst (N sends at concurrency C, then wait for every final
// callback) and an offered load (S sends/s for T seconds, at most C in flight). Then, once per
// system, wrk with bench/compare_wrk.lua for W seconds (the cheapest client: what the server
// can take when the load tool costs little), and, for smsgated alone, a soak of M messages
// (jobs of 1,000 receivers, the whole pipeline) for its peak RSS with that many stored.
//
// Reported per system (median of the runs [min-max]): accepted sends/s, submits/s at the
// SMSC, final callbacks/s, p50/p99 from request (from when it was due, under an offered load)
// to answer, to submit_sm at the SMSC and to final callback, CPU time of the server's
// processes (and of the harness's) per message carried end to end, peak RSS per process
// (VmHWM from /proc), and the ratios smsgate/Kannel.
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
const BENCH = path.join(ROOT, 'bench');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = argv[i + 1];
  return typeof def === 'number' ? Number(v) : v;
};
const O = {
  messages: opt('messages', 20000),
  concurrency: opt('concurrency', 64),
  runs: opt('runs', 3),
  rate: opt('rate', 3000),
  rateSeconds: opt('rate-seconds', 10),
  wrkSeconds: opt('wrk-seconds', 5),
  wrkConnections: opt('wrk-connections', 64),
  soak: opt('soak', 1000000),
  systems: opt('systems', 'smsgate,kannel').split(',').filter(Boolean),
  json: argv.includes('--json'),
  keep: argv.includes('--keep'),
  perf: opt('perf', ''), // profiling: perf record of smsgated into this file (last run wins)
  store: opt('store', 'sqlite'),
  metricsAb: argv.includes('--metrics-ab'),
  scrapeMs: opt('scrape-ms', 1000),
};
if (O.metricsAb) {
  if (!argv.includes('--systems')) O.systems = ['smsgate', 'smsgate-nometrics'];
  if (!argv.includes('--wrk-seconds')) O.wrkSeconds = 0;
  if (!argv.includes('--soak')) O.soak = 0;
}
if (O.store === 'postgres') {
  if (!argv.includes('--systems')) O.systems = ['smsgate', 'smsgate-pg', 'smsgate-pg2'];
  if (!argv.includes('--rate')) O.rate = 2000;
} else if (O.store !== 'sqlite') {
  console.error(`compare: unknown store '${O.store}' (sqlite, postgres)`);
  process.exit(2);
}
const SYSTEMS = ['smsgate', 'smsgate-pg', 'smsgate-pg2', 'smsgate-nometrics', 'kannel'];
for (const s of O.systems) {
  if (!SYSTEMS.includes(s)) {
    console.error(`compare: unknown system '${s}' (${SYSTEMS.join(', ')})`);
    process.exit(2);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => { if (!O.json) console.error('#', ...a); };
const TICK = 100; // USER_HZ on Linux: /proc times are in 1/100 s

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function get(port, target, headers = {}, method = 'GET', body = null) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers,
      agent: false, timeout: 10000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// ---- /proc ----

function procCpu(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime + stime, seconds
  } catch { return 0; }
}

function procPeakRssMB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
}

// ---- the peers ----

class Peer {
  constructor(file) {
    this.child = fork(path.join(BENCH, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((r) => this.child.once('message', r));
  }
  ask(msg) {
    return new Promise((resolve) => { this.child.once('message', resolve); this.child.send(msg); });
  }
  get pid() { return this.child.pid; }
  async stop() {
    try { this.child.send({ cmd: 'exit' }); } catch { /* gone */ }
    await Promise.race([new Promise((r) => this.child.once('exit', r)), sleep(2000)]);
    try { this.child.kill('SIGKILL'); } catch { /* gone */ }
  }
}

async function peers() {
  const smsc = new Peer('compare_smsc.mjs'), sink = new Peer('compare_sink.mjs');
  const load = new Peer('compare_load.mjs');
  await Promise.all([smsc.ready, sink.ready, load.ready]);
  const { port: smscPort } = await smsc.ask({ cmd: 'start' });
  const { port: sinkPort } = await sink.ask({ cmd: 'start' });
  return { smsc, sink, load, smscPort, sinkPort, all: [smsc, sink, load] };
}

// ---- the systems under test ----

function spawnLogged(file, args, logPath, env) {
  const fd = fs.openSync(logPath, 'a');
  const p = spawn(file, args, { stdio: ['ignore', fd, fd], env: env || process.env });
  fs.closeSync(fd);
  p.exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  return p;
}

async function stopProc(p, ms = 15000) {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  const r = await Promise.race([p.exited, sleep(ms).then(() => null)]);
  if (!r) {
    p.kill('SIGKILL');
    await p.exited;
  }
}

function ovhSign(keys, method, url, body, ts) {
  return '$1$' + crypto.createHash('sha1').update([keys.applicationSecret, keys.consumerKey,
    method, url, body, ts].join('+')).digest('hex');
}

// smsgated on SQLite (one node, its data dir), or on PostgreSQL (a throw-away cluster of
// scripts/pg-scratch) with `nodes` nodes, each with its own data dir and port; the load is
// spread over the nodes' ports, and the SMPP route has one bind per node (`--binds` is the
// cluster's total).
class Smsgate {
  constructor(p, { store = 'sqlite', nodes = 1, name = 'smsgate', metrics = true } = {}) {
    this.p = p;
    this.name = name;
    this.metrics = metrics; // the Prometheus listener (docs/metrics.md), scraped when O.metricsAb
    this.store = store;
    this.nodes = nodes;
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-compare-${this.name}-`));
    if (this.store === 'postgres') {
      // its own directory right under the temporary one (as root, the cluster runs as the
      // postgres user, who must reach it: this.dir is 0700)
      this.pgDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-compare-pg-`));
      const r = spawnSync(path.join(ROOT, 'scripts/pg-scratch'), ['start', this.pgDir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`scripts/pg-scratch start failed: ${r.stderr}`);
      this.database = r.stdout.trim().split('\n').pop();
      // On the same host, over the cluster's unix socket, as docs/cluster.md says a node on
      // PostgreSQL's host connects; BENCH_PG_TCP=1 keeps the loopback TCP connection.
      if (!process.env.BENCH_PG_TCP) this.database = this.database.replace('host=127.0.0.1', `host=${this.pgDir}`);
    }
    this.procs = [];
    this.ports = [];
    this.datas = [];
    // BENCH_SMSGATED_WRAP: a command line to run smsgated under (valgrind --tool=callgrind, say)
    const wrap = (process.env.BENCH_SMSGATED_WRAP || '').split(' ').filter(Boolean);
    for (let k = 0; k < this.nodes; k++) {
      const data = path.join(this.dir, `data${k || ''}`), port = await freePort();
      const args = ['--data', data,
        '--listen', `127.0.0.1:${port}`, '--tls-listen', '', '--log-level', 'warn',
        '--callback-allow-private', '--callback-host-concurrency', '32'];
      if (this.database) args.push('--database', this.database, '--node', `bench${k}`);
      // the metrics listener on a free port (the default 9464 would clash between nodes), or off
      const metricsPort = this.metrics ? await freePort() : 0;
      args.push('--metrics-listen', metricsPort ? `127.0.0.1:${metricsPort}` : '');
      if (metricsPort && O.metricsAb) this.scrapeEvery(metricsPort);
      this.procs.push(spawnLogged(wrap.length ? wrap[0] : path.join(BIN, 'smsgated'),
        wrap.length ? [...wrap.slice(1), path.join(BIN, 'smsgated'), ...args] : args,
        path.join(this.dir, `smsgated${k || ''}.log`),
        // BENCH_SMSGATED_PRELOAD: an LD_PRELOAD for smsgated alone (trying another allocator, say)
        process.env.BENCH_SMSGATED_PRELOAD ? { ...process.env, LD_PRELOAD: process.env.BENCH_SMSGATED_PRELOAD } : undefined));
      this.ports.push(port);
      this.datas.push(data);
    }
    [this.proc] = this.procs;
    [this.port] = this.ports;
    [this.data] = this.datas;
    for (const port of this.ports) {
      for (let i = 0; ; i++) {
        try { if ((await get(port, '/1.0/auth/time')).status === 200) break; } catch { /* not yet */ }
        if (i > 2400) throw new Error(`smsgated did not start; see ${this.dir}/smsgated*.log`);
        await sleep(25);
      }
    }
    this.ctl(['route', 'add', 'bench', '--smpp', `127.0.0.1:${this.p.smscPort}`, '--system-id',
      'bench', '--password', 'bench', '--prefix', '+33', '--window', '200', '--binds', String(this.nodes)]);
    this.ctl(['route', 'disable', 'sim']);
    for (const data of this.datas) {
      for (let i = 0; ; i++) {
        const st = JSON.parse(this.ctl(['route', 'status', '--json'], data)).find((r) => r.name === 'bench');
        if (st && st.up) break;
        if (i > 400) throw new Error('the SMPP route of smsgated did not bind');
        await sleep(25);
      }
    }
    this.keys = JSON.parse(this.ctl(['account', 'create', 'bench', '--credits', '100000000', '--json']));
    this.sn = this.keys.serviceName;
    const r = await this.api('PUT', `/sms/${this.sn}`, { callBack: `http://127.0.0.1:${this.p.sinkPort}/s` });
    if (r.status !== 200) throw new Error(`setting the callBack failed: ${r.text}`);
    if (O.perf) {
      this.perf = spawn('perf', ['record', '-F', '499', '--call-graph', process.env.BENCH_PERF_CG || 'fp', '-o', O.perf, '-p',
        String(this.proc.pid)], { stdio: 'ignore' });
      this.perf.exited = new Promise((res) => this.perf.on('exit', res));
      await sleep(300);
    }
  }

  ctl(args, data = this.data) {
    const r = spawnSync(path.join(BIN, 'smsctl'), ['--data', data, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`smsctl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  api(method, p, obj) {
    const target = '/1.0' + p, body = obj ? JSON.stringify(obj) : '';
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = { 'Content-Type': 'application/json', 'X-Ovh-Application': this.keys.applicationKey,
      'X-Ovh-Consumer': this.keys.consumerKey, 'X-Ovh-Timestamp': ts,
      'X-Ovh-Signature': ovhSign(this.keys, method, `http://127.0.0.1:${this.port}${target}`, body, ts) };
    if (body) headers['Content-Length'] = Buffer.byteLength(body);
    return get(this.port, target, headers, method, body || null);
  }

  pids() {
    return Object.fromEntries(this.procs.map((p, k) => [`smsgated${k || ''}`, p.pid]));
  }
  loadTarget() {
    return { system: 'smsgate', port: this.port, ports: this.ports, keys: this.keys, sn: this.sn };
  }
  wrkEnv() {
    return { BENCH_SYSTEM: 'smsgate', BENCH_BASE: `http://127.0.0.1:${this.port}`, BENCH_SN: this.sn,
      BENCH_AK: this.keys.applicationKey, BENCH_AS: this.keys.applicationSecret,
      BENCH_CK: this.keys.consumerKey };
  }

  // Scrapes /metrics every O.scrapeMs, as Prometheus would (more often than its usual 15 s),
  // so that the scrapes' own cost is in the measured CPU.
  scrapeEvery(port) {
    this.scrapes = this.scrapes || [];
    this.scrapes.push(setInterval(() => {
      get(port, '/metrics').then((r) => { this.scraped = (this.scraped || 0) + (r.status === 200); },
        () => { /* not up yet, or stopping */ });
    }, O.scrapeMs));
  }

  async stop() {
    for (const t of this.scrapes || []) clearInterval(t);
    if (this.scrapes) log(`${this.name}: ${this.scraped || 0} scrapes of /metrics answered`);
    if (this.perf) {
      this.perf.kill('SIGINT');
      await this.perf.exited;
    }
    await Promise.all(this.procs.map((p) => stopProc(p, 30000)));
    if (this.pgDir) spawnSync(path.join(ROOT, 'scripts/pg-scratch'), ['stop', this.pgDir], { stdio: 'inherit' });
    if (!O.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

class Kannel {
  constructor(p) { this.p = p; this.name = 'kannel'; }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-compare-kannel-'));
    const [admin, box, sendsms] = [await freePort(), await freePort(), await freePort()];
    this.port = sendsms;
    this.admin = admin;
    const conf = fs.readFileSync(path.join(BENCH, 'kannel/kannel.conf.in'), 'utf8')
      .replaceAll('@DIR@', this.dir).replaceAll('@ADMIN_PORT@', String(admin))
      .replaceAll('@SMSBOX_PORT@', String(box)).replaceAll('@SENDSMS_PORT@', String(sendsms))
      .replaceAll('@SMSC_PORT@', String(this.p.smscPort));
    const cf = path.join(this.dir, 'kannel.conf');
    fs.writeFileSync(cf, conf);
    this.bearerbox = spawnLogged('bearerbox', [cf], path.join(this.dir, 'bearerbox.out'));
    for (let i = 0; ; i++) {
      try { if ((await get(admin, '/status.txt?password=bench')).status === 200) break; } catch { /* not yet */ }
      if (i > 400) throw new Error(`bearerbox did not start; see ${this.dir}`);
      await sleep(25);
    }
    this.smsbox = spawnLogged('smsbox', [cf], path.join(this.dir, 'smsbox.out'));
    for (let i = 0; ; i++) {
      let st = '';
      try { st = (await get(admin, '/status.txt?password=bench')).text; } catch { /* not yet */ }
      if (/smsbox/.test(st) && /online/.test(st)) {
        try { if ((await get(sendsms, '/cgi-bin/sendsms')).status) break; } catch { /* not yet */ }
      }
      if (i > 600) throw new Error(`Kannel did not come up; status: ${st}`);
      await sleep(25);
    }
  }

  pids() { return { bearerbox: this.bearerbox.pid, smsbox: this.smsbox.pid }; }
  loadTarget() { return { system: 'kannel', port: this.port, sinkPort: this.p.sinkPort }; }
  wrkEnv() { return { BENCH_SYSTEM: 'kannel', BENCH_SINK: String(this.p.sinkPort) }; }

  async stop() {
    await stopProc(this.smsbox, 10000);
    await stopProc(this.bearerbox, 10000);
    if (!O.keep) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---- measuring ----

function pct(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function latency(from, to) {
  const v = [];
  for (let i = 0; i < from.length; i++) if (from[i] && to[i]) v.push(to[i] - from[i]);
  v.sort((a, b) => a - b);
  return { p50: pct(v, 0.5), p99: pct(v, 0.99), n: v.length };
}

function span(a) {
  let lo = Infinity, hi = -Infinity;
  for (const t of a) if (t) { if (t < lo) lo = t; if (t > hi) hi = t; }
  return hi > lo ? (hi - lo) / 1000 : NaN;
}

function cpuOf(pids) {
  const o = {};
  for (const [k, pid] of Object.entries(pids)) o[k] = procCpu(pid);
  return o;
}

// Waits until every accepted message has its final callback (or nothing moved for stallMs).
async function drain(sys, accepted, stallMs = 30000) {
  let last = -1, since = Date.now(), sk;
  for (;;) {
    sk = await sys.p.sink.ask({ cmd: 'stats' });
    if (sk.finals >= accepted) return sk;
    if (sk.finals !== last) { last = sk.finals; since = Date.now(); }
    if (Date.now() - since > stallMs) {
      log(`${sys.name}: only ${sk.finals} of ${accepted} final callbacks arrived (stalled)`);
      return sk;
    }
    await sleep(50);
  }
}

async function workload(sys, kind) {
  const p = sys.p;
  const n = kind === 'burst' ? O.messages : Math.round(O.rate * O.rateSeconds);
  await p.smsc.ask({ cmd: 'reset', n });
  await p.sink.ask({ cmd: 'reset', n });
  const pids = sys.pids(), harness = { load: p.load.pid, smsc: p.smsc.pid, sink: p.sink.pid };
  const cpu0 = cpuOf(pids), h0 = cpuOf(harness);
  const t0 = Date.now();
  const res = await p.load.ask({ cmd: 'run', n, concurrency: O.concurrency,
    rate: kind === 'burst' ? 0 : O.rate, ...sys.loadTarget() });
  const accepted = (res.status[200] || 0) + (res.status[202] || 0);
  const sk = await drain(sys, accepted);
  const cpu1 = cpuOf(pids), h1 = cpuOf(harness);
  const elapsed = (Date.now() - t0) / 1000;
  const sm = await p.smsc.ask({ cmd: 'stats' });
  const submitT = (await p.smsc.ask({ cmd: 'dump' })).times;
  const cbT = (await p.sink.ask({ cmd: 'dump' })).times;
  const serverCpu = Object.keys(pids).reduce((s, k) => s + cpu1[k] - cpu0[k], 0);
  const harnessCpu = Object.keys(harness).reduce((s, k) => s + h1[k] - h0[k], 0);
  const rss = {};
  for (const [k, pid] of Object.entries(pids)) rss[k] = procPeakRssMB(pid);
  const r = {
    system: sys.name, kind, n, accepted, status: res.status, errors: res.errors,
    firstError: res.firstError, finals: sk.finals, duplicateFinals: sk.duplicates,
    submits: sm.submits, duplicateSubmits: sm.submits - sm.unique, elapsed,
    acceptPerS: accepted / span([...res.due, ...res.answered]),
    submitsPerS: sm.unique / span(submitT),
    callbacksPerS: sk.finals / span(cbT),
    e2ePerS: sk.finals / span([...res.due, ...cbT]),
    lat: { answer: latency(res.due, res.answered), submit: latency(res.due, submitT),
      callback: latency(res.due, cbT) },
    cpuS: serverCpu, cpuPerMsgUs: (serverCpu / Math.max(1, sk.finals)) * 1e6,
    cpuByProc: Object.fromEntries(Object.keys(pids).map((k) => [k, cpu1[k] - cpu0[k]])),
    harnessCpuPerMsgUs: (harnessCpu / Math.max(1, sk.finals)) * 1e6,
    harnessByProc: Object.fromEntries(Object.keys(harness).map((k) => [k,
      ((h1[k] - h0[k]) / Math.max(1, sk.finals)) * 1e6])),
    rssMB: rss,
  };
  log(`${sys.name} ${kind}: ${accepted}/${n} accepted, ${sk.finals} final callbacks, `
    + `${Math.round(r.acceptPerS)} sends/s, ${Math.round(r.submitsPerS)} submits/s, `
    + `${Math.round(r.callbacksPerS)} callbacks/s, p99 to callback ${Math.round(r.lat.callback.p99)} ms, `
    + `${Math.round(r.cpuPerMsgUs)} µs CPU/msg (harness: ${Object.entries(r.harnessByProc)
      .map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')} µs), ${elapsed.toFixed(1)} s`);
  return r;
}

async function withSystem(System, fn) {
  const p = await peers();
  const sys = new System(p);
  try {
    await sys.start();
    return await fn(sys);
  } finally {
    await sys.stop().catch((e) => log(`stopping ${sys.name}: ${e.message}`));
    await Promise.all(p.all.map((x) => x.stop()));
  }
}

async function wrkRun(sys) {
  const p = sys.p;
  const n = 2000000;
  await p.smsc.ask({ cmd: 'reset', n });
  await p.sink.ask({ cmd: 'reset', n });
  const pids = sys.pids();
  const cpu0 = cpuOf(pids);
  const r = spawnSync('wrk', ['-t1', `-c${O.wrkConnections}`, `-d${O.wrkSeconds}s`,
    '-s', path.join(BENCH, 'compare_wrk.lua'), `http://127.0.0.1:${sys.port}/`],
  { encoding: 'utf8', env: { ...process.env, ...sys.wrkEnv(), BENCH_START: '0' } });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('BENCH '));
  if (!line) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  const w = JSON.parse(line.slice(6));
  const accepted = w.requests - w.non2xx - w.read - w.write - w.timeout;
  const cpuSend = Object.keys(pids).reduce((s, k) => s + procCpu(pids[k]) - cpu0[k], 0);
  const sk = await drain(sys, accepted);
  const cpu = Object.keys(pids).reduce((s, k) => s + procCpu(pids[k]) - cpu0[k], 0);
  const out = {
    system: sys.name, requests: w.requests, accepted, non2xx: w.non2xx,
    errors: w.connect + w.read + w.write + w.timeout,
    sendsPerS: accepted / (w.duration_us / 1e6), p50Ms: w.p50_us / 1000, p99Ms: w.p99_us / 1000,
    finals: sk.finals, cpuPerMsgUs: (cpu / Math.max(1, sk.finals)) * 1e6,
    acceptCpuPerMsgUs: (cpuSend / Math.max(1, accepted)) * 1e6,
  };
  log(`${sys.name} wrk: ${Math.round(out.sendsPerS)} sends/s (${w.requests} requests, ${w.non2xx} `
    + `non-2xx), ${sk.finals} final callbacks, ${Math.round(out.cpuPerMsgUs)} µs CPU/msg`);
  return out;
}

async function soakRun(sys) {
  const JOB = 1000, jobs = Math.ceil(O.soak / JOB);
  const p = sys.p;
  await p.smsc.ask({ cmd: 'reset', n: O.soak });
  await p.sink.ask({ cmd: 'reset', n: O.soak });
  const pid = sys.proc.pid, t0 = Date.now(), cpu0 = procCpu(pid);
  let nextJob = 0, failed = 0;
  const worker = async () => {
    while (nextJob < jobs) {
      const j = nextJob++;
      const receivers = [];
      for (let i = j * JOB; i < Math.min(O.soak, (j + 1) * JOB); i++) {
        receivers.push(`+3361${String(i).padStart(7, '0')}`);
      }
      const r = await sys.api('POST', `/sms/${sys.sn}/jobs`, { message: 'bench', receivers,
        senderForResponse: true, noStopClause: true });
      if (r.status !== 200) failed += receivers.length;
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const sent = (Date.now() - t0) / 1000;
  // Every message final (its receipt acknowledged by smsgated, which means committed), then
  // every final callback made.
  let sm, last = -1, since = Date.now();
  for (;;) {
    sm = await p.smsc.ask({ cmd: 'stats' });
    if (sm.acked >= O.soak - failed) break;
    if (sm.acked !== last) { last = sm.acked; since = Date.now(); }
    if (Date.now() - since > 60000) { log(`soak stalled at ${sm.acked} receipts`); break; }
    await sleep(200);
  }
  const finalSeconds = (Date.now() - t0) / 1000;
  const sk = await drain(sys, O.soak - failed, 60000);
  const out = { system: sys.name, messages: O.soak, failed, final: sm.acked, finals: sk.finals,
    acceptSeconds: sent, finalSeconds, seconds: (Date.now() - t0) / 1000,
    cpuPerMsgUs: ((procCpu(pid) - cpu0) / Math.max(1, sm.acked)) * 1e6,
    peakRssMB: procPeakRssMB(pid),
    dbMB: fs.statSync(path.join(sys.data, 'smsgate.db')).size / 1048576 };
  log(`${sys.name} soak: ${out.final}/${O.soak} final in ${out.finalSeconds.toFixed(0)} s, ${out.finals} `
    + `final callbacks in ${out.seconds.toFixed(0)} s, peak RSS `
    + `${out.peakRssMB.toFixed(1)} MB, database ${out.dbMB.toFixed(0)} MB`);
  return out;
}

// ---- report ----

const median = (a) => { const s = a.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

function fmt(v, digits = 0) {
  if (v === undefined || Number.isNaN(v)) return '-';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function cell(vals, digits) {
  const v = vals.filter((x) => !Number.isNaN(x));
  if (!v.length) return '-';
  const m = median(v);
  return v.length > 1 ? `${fmt(m, digits)} [${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)}]`
    : fmt(m, digits);
}

const METRICS = [
  ['accepted sends/s', (r) => r.acceptPerS, 0],
  ['submits/s at the SMSC', (r) => r.submitsPerS, 0],
  ['final callbacks/s', (r) => r.callbacksPerS, 0],
  ['end to end msgs/s (first request to last callback)', (r) => r.e2ePerS, 0],
  ['p50 request → answer, ms', (r) => r.lat.answer.p50, 1],
  ['p99 request → answer, ms', (r) => r.lat.answer.p99, 1],
  ['p50 request → submit_sm, ms', (r) => r.lat.submit.p50, 1],
  ['p99 request → submit_sm, ms', (r) => r.lat.submit.p99, 1],
  ['p50 request → final callback, ms', (r) => r.lat.callback.p50, 0],
  ['p99 request → final callback, ms', (r) => r.lat.callback.p99, 0],
  ['server CPU per message, µs', (r) => r.cpuPerMsgUs, 0],
  ['harness CPU per message (load+SMSC+sink), µs', (r) => r.harnessCpuPerMsgUs, 0],
  // The machine's speed moves by up to half from one run to the next (docs/benchmarks.md,
  // "The machine's speed"), and a CPU-bound run's rate with it; the harness does the same work
  // in every run, so the rate times its CPU per message is steady for one build (within 4 %
  // where the rate moved by 50 %): for comparing builds of one system. Between systems it may
  // favour the slower one (a harness waiting on a slower server may spend more per message).
  // Shown beside the rate, never instead of it: the targets are the rates'.
  ['end to end msgs/s × harness µs per message / 1000 (the machine\'s speed taken out)',
    (r) => r.e2ePerS * r.harnessCpuPerMsgUs / 1000, 0],
];

function report(results, wrk, soak) {
  const lines = [];
  const systems = O.systems;
  const both = systems.length === 2 && (systems.includes('kannel') || O.metricsAb);
  for (const kind of ['burst', 'paced']) {
    if (!results.some((r) => r.kind === kind)) continue;
    const title = kind === 'burst'
      ? `Burst: ${fmt(O.messages)} single-receiver sends at concurrency ${O.concurrency}, then every final callback`
      : `Offered load: ${fmt(O.rate)} sends/s for ${O.rateSeconds} s (${fmt(O.rate * O.rateSeconds)} messages), at most ${O.concurrency} in flight`;
    lines.push(`### ${title}`, '');
    // --store postgres: each PostgreSQL system over SQLite's
    const pgRatios = O.store === 'postgres' ? systems.slice(1) : [];
    lines.push(`| ${O.runs} runs, median [min–max] | ${systems.join(' | ')}${both ? ` | ${systems[0]} / ${systems[1]}` : ''}`
      + `${pgRatios.map((x) => ` | ${x} / ${systems[0]}`).join('')} |`);
    lines.push(`|---|${systems.map(() => '---|').join('')}${both ? '---|' : ''}${pgRatios.map(() => '---|').join('')}`);
    const rows = [...METRICS];
    const procs = new Set();
    for (const r of results) if (r.kind === kind) for (const k of Object.keys(r.rssMB)) procs.add(k);
    for (const k of procs) rows.push([`CPU seconds ${k}`, (r) => r.cpuByProc[k] ?? NaN, 2]);
    for (const k of procs) rows.push([`peak RSS ${k}, MB`, (r) => r.rssMB[k] ?? NaN, 1]);
    for (const [name, f, d] of rows) {
      const cols = systems.map((s) => cell(results.filter((r) => r.kind === kind && r.system === s).map(f), d));
      let ratio = '';
      if (both) {
        const a = median(results.filter((r) => r.kind === kind && r.system === systems[0]).map(f));
        const b = median(results.filter((r) => r.kind === kind && r.system === systems[1]).map(f));
        ratio = ` | ${Number.isFinite(a / b) ? fmt(a / b, 2) : '-'}`;
      }
      const base = median(results.filter((r) => r.kind === kind && r.system === systems[0]).map(f));
      for (const x of pgRatios) {
        const a = median(results.filter((r) => r.kind === kind && r.system === x).map(f));
        ratio += ` | ${Number.isFinite(a / base) ? fmt(a / base, 2) : '-'}`;
      }
      lines.push(`| ${name} | ${cols.join(' | ')}${ratio} |`);
    }
    const lost = results.filter((r) => r.kind === kind && (r.finals < r.accepted || r.accepted < r.n));
    const dup = results.filter((r) => r.kind === kind && (r.duplicateSubmits || r.duplicateFinals));
    lines.push('', `Every accepted message submitted and called back: ${lost.length ? 'NO — ' + lost.map((r) => `${r.system} ${r.accepted}/${r.n} accepted, ${r.finals} callbacks`).join('; ') : 'yes'}; `
      + `duplicates: ${dup.length ? dup.map((r) => `${r.system} ${r.duplicateSubmits} submits, ${r.duplicateFinals} callbacks`).join('; ') : 'none'}.`, '');
  }
  if (wrk.length) {
    lines.push(`### wrk (bench/compare_wrk.lua), 1 thread, ${O.wrkConnections} connections, ${O.wrkSeconds} s`, '');
    lines.push('| system | accepted sends/s | p50 / p99 answer, ms | final callbacks | server CPU per message (accept → callback), µs |', '|---|---|---|---|---|');
    for (const w of wrk) {
      lines.push(`| ${w.system} | ${fmt(w.sendsPerS)} | ${fmt(w.p50Ms, 1)} / ${fmt(w.p99Ms, 1)} | ${fmt(w.finals)} of ${fmt(w.accepted)} | ${fmt(w.cpuPerMsgUs)} |`);
    }
    if (wrk.length === 2) lines.push('', `smsgate / kannel accepted sends/s under wrk: ${fmt(wrk[0].sendsPerS / wrk[1].sendsPerS, 2)}`);
    lines.push('');
  }
  if (soak) {
    lines.push(`### Soak: ${fmt(soak.messages)} messages through smsgated (jobs of 1,000 receivers, SMPP route, callbacks)`, '');
    lines.push(`all accepted in ${fmt(soak.acceptSeconds)} s; ${fmt(soak.final)} messages final (receipt committed) `
      + `${fmt(soak.finalSeconds)} s after the first send (${fmt(soak.final / soak.finalSeconds)}/s), `
      + `${fmt(soak.finals)} final callbacks after ${fmt(soak.seconds)} s (${fmt(soak.finals / soak.seconds)}/s); `
      + `peak RSS ${fmt(soak.peakRssMB, 1)} MB with ${fmt(soak.messages)} messages stored (database ${fmt(soak.dbMB)} MB); `
      + `server CPU ${fmt(soak.cpuPerMsgUs)} µs per message.`, '');
  }
  return lines.join('\n');
}

function targets(results, wrk, soak) {
  if (O.store === 'postgres') return pgTargets(results);
  if (O.metricsAb) return metricsTargets(results);
  if (O.systems.length !== 2) return '';
  const m = (kind, s, f) => median(results.filter((r) => r.kind === kind && r.system === s).map(f));
  const cpu = m('burst', 'smsgate', (r) => r.cpuPerMsgUs), kcpu = m('burst', 'kannel', (r) => r.cpuPerMsgUs);
  const sub = m('burst', 'smsgate', (r) => r.submitsPerS) / m('burst', 'kannel', (r) => r.submitsPerS);
  const cb = m('burst', 'smsgate', (r) => r.callbacksPerS) / m('burst', 'kannel', (r) => r.callbacksPerS);
  const p99s = m('paced', 'smsgate', (r) => r.lat.submit.p99), p99c = m('paced', 'smsgate', (r) => r.lat.callback.p99);
  const ok = (c) => (c ? 'met' : 'NOT met');
  const out = ['### Targets (medians of this run)', '',
    '| target | measured | |', '|---|---|---|',
    `| server CPU per message ≤ 40 µs (Kannel: ${fmt(kcpu)} µs) | ${fmt(cpu)} µs | ${ok(cpu <= 40)} |`,
    `| submits/s ≥ 3 × Kannel's | ${fmt(sub, 2)} × | ${ok(sub >= 3)} |`,
    `| final callbacks/s ≥ 3 × Kannel's | ${fmt(cb, 2)} × | ${ok(cb >= 3)} |`,
    `| p99 request → submit ≤ 100 ms at ${fmt(O.rate)}/s | ${fmt(p99s, 1)} ms | ${ok(p99s <= 100)} |`,
    `| p99 request → final callback ≤ 1 s at ${fmt(O.rate)}/s | ${fmt(p99c)} ms | ${ok(p99c <= 1000)} |`];
  if (soak) out.push(`| peak RSS ≤ 150 MB after ${fmt(soak.messages)} messages | ${fmt(soak.peakRssMB, 1)} MB | ${ok(soak.peakRssMB <= 150)} |`);
  return out.join('\n') + '\n';
}

// Issue 16's target: CPU per message with the metrics listener on (and scraped) within 3 % of
// the same with it off, in one run; both kinds of workload, medians and each run's pair.
function metricsTargets(results) {
  const m = (kind, s) => median(results.filter((r) => r.kind === kind && r.system === s).map((r) => r.cpuPerMsgUs));
  const ok = (c) => (c ? 'met' : 'NOT met');
  const out = ['### Metrics on vs off (medians of this run)', '',
    `| workload | CPU/msg metrics on, µs | CPU/msg metrics off, µs | on / off | within 3 % |`, '|---|---|---|---|---|'];
  for (const kind of ['burst', 'paced']) {
    const on = m(kind, 'smsgate'), off = m(kind, 'smsgate-nometrics');
    if (!Number.isFinite(on) || !Number.isFinite(off)) continue;
    out.push(`| ${kind} | ${fmt(on, 1)} | ${fmt(off, 1)} | ${fmt(on / off, 3)} | ${ok(on / off <= 1.03)} |`);
  }
  return out.join('\n') + '\n';
}

// Issue 13's targets: PostgreSQL's end-to-end rate at least 60 % of SQLite's in the same run,
// p99 request -> submit_sm <= 100 ms at the offered load (2,000/s by default).
function pgTargets(results) {
  const m = (kind, s, f) => median(results.filter((r) => r.kind === kind && r.system === s).map(f));
  const ok = (c) => (c ? 'met' : 'NOT met');
  const out = ['### Targets (medians of this run)', '', '| target | measured | |', '|---|---|---|'];
  const base = m('burst', 'smsgate', (r) => r.e2ePerS);
  for (const s of O.systems.filter((x) => x !== 'smsgate' && x !== 'kannel')) {
    const ratio = m('burst', s, (r) => r.e2ePerS) / base;
    const p99 = m('paced', s, (r) => r.lat.submit.p99);
    const steady = m('burst', s, (r) => r.e2ePerS * r.harnessCpuPerMsgUs)
      / m('burst', 'smsgate', (r) => r.e2ePerS * r.harnessCpuPerMsgUs);
    out.push(`| ${s}: end-to-end msgs/s ≥ 60 % of SQLite's (burst) | ${fmt(ratio * 100)} % `
      + `(the machine's speed taken out: ${fmt(steady * 100)} %) | ${ok(ratio >= 0.6)} |`);
    out.push(`| ${s}: p99 request → submit_sm ≤ 100 ms at ${fmt(O.rate)}/s | ${fmt(p99, 1)} ms | ${ok(p99 <= 100)} |`);
  }
  return out.join('\n') + '\n';
}

// ---- main ----

async function main() {
  if (!fs.existsSync(path.join(BIN, 'smsgated'))) {
    console.error('compare: bin/smsgated is missing; run make first');
    process.exit(2);
  }
  if (!fs.existsSync(path.join(ROOT, 'tests/integration/node_modules/smpp'))) {
    spawnSync('npm', ['ci', '--prefix', path.join(ROOT, 'tests/integration'), '--no-audit', '--no-fund'],
      { stdio: 'inherit' });
  }
  const needKannel = O.systems.includes('kannel') || O.wrkSeconds > 0;
  const inst = needKannel ? spawnSync(path.join(BENCH, 'kannel/install.sh'), [], { stdio: 'inherit' })
    : { status: 0 };
  if (inst.status !== 0) {
    console.error('compare: installing kannel and wrk failed');
    process.exit(2);
  }
  const classes = {
    smsgate: Smsgate,
    'smsgate-pg': class extends Smsgate { constructor(p) { super(p, { store: 'postgres', name: 'smsgate-pg' }); } },
    'smsgate-pg2': class extends Smsgate { constructor(p) { super(p, { store: 'postgres', nodes: 2, name: 'smsgate-pg2' }); } },
    'smsgate-nometrics': class extends Smsgate { constructor(p) { super(p, { metrics: false, name: 'smsgate-nometrics' }); } },
    kannel: Kannel,
  };
  const started = Date.now();
  const results = [], wrk = [];
  let soak = null;
  for (let run = 1; run <= O.runs; run++) {
    for (const s of O.systems) {
      log(`run ${run}/${O.runs}: ${s}`);
      await withSystem(classes[s], async (sys) => {
        results.push(await workload(sys, 'burst'));
        results.push(await workload(sys, 'paced'));
      });
    }
  }
  if (O.wrkSeconds > 0) {
    for (const s of O.systems) await withSystem(classes[s], async (sys) => wrk.push(await wrkRun(sys)));
  }
  if (O.soak > 0 && O.systems.includes('smsgate')) {
    await withSystem(Smsgate, async (sys) => { soak = await soakRun(sys); });
  }
  const cpuModel = (os.cpus()[0] || {}).model || '?';
  const head = `${os.cpus().length} × ${cpuModel}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, `
    + `${os.type()} ${os.release()}; node ${process.version}; whole run ${Math.round((Date.now() - started) / 1000)} s`;
  if (O.json) {
    console.log(JSON.stringify({ options: O, machine: head, results, wrk, soak }, null, 2));
  } else {
    console.log(`Machine: ${head}\n`);
    console.log(report(results, wrk, soak));
    console.log(targets(results, wrk, soak));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
