// harness.mjs - helpers shared by the integration tests of smsgate.
//
// What it gives:
//   startServer(opts)       smsgated on free loopback ports (plain + TLS) with a fresh data dir;
//                           resolves once GET /1.0/auth/time answers. opts.ulimit: the
//                           server's open-file limit (ulimit -n).
//   server.stop()           SIGTERM, asserts exit status 0 within 15 s, then asserts that the
//                           log holds no WARN/ERROR line except the ones declared expected.
//   server.kill9()          SIGKILL (crash tests); server.restart() starts again on the same dir.
//   server.smsctl(args)     bin/smsctl --data DIR ...
//   server.sql(query)       rows of a SELECT on the server's database (SQLite or PostgreSQL)
//   server.createAccount()  smsctl account create NAME --credits N --json -> keys
//   server.sdk(keys)        the real npm `ovh` 2.0.3 client, over TLS (it speaks HTTPS only)
//   server.raw(req)         a hand-signed OVH request over plain HTTP (or TLS), for the
//                           negative cases the SDK cannot produce.
//
// TLS material comes from tests/run-integration, through environment variables, because
// NODE_EXTRA_CA_CERTS is only read when node starts:
//   NODE_EXTRA_CA_CERTS   the throwaway test CA (PEM)
//   SMSGATE_TEST_CERT     server certificate signed by it (SAN IP:127.0.0.1, DNS:localhost)
//   SMSGATE_TEST_KEY      its key
// Optional: SMSGATE_BIN_DIR (default <repo>/bin), SMSGATE_TEST_TMP (where data dirs go),
// SMSGATE_KEEP_TMP=1 (keep data dirs and logs), SMSGATE_SIM_DELAY_MS (default 50).
//
// The store: SQLite in the data dir, unless SMSGATE_TEST_DATABASE is set, a libpq connection
// string (keyword/value, `host=127.0.0.1 port=N user=postgres dbname=postgres`, or a
// postgresql:// URI) of a PostgreSQL cluster the tests may create databases in (scripts/test
// starts a throw-away one with scripts/pg-scratch). Then every Server gets a database of its
// own, named from its data dir (databaseName(): a restart on the same --data finds the same
// one), created before its first start and dropped by finish(); smsgated runs with
// `--database '<SMSGATE_TEST_DATABASE> dbname=<that name>'` next to `--data DIR` (which still
// holds the admin token, smsgated.url and the TLS files). server.sql() gives the same rows in
// both modes. psql is Debian's: SMSGATE_PG_BINDIR, default the newest /usr/lib/postgresql/*/bin.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ovh = require('ovh');

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN_DIR = process.env.SMSGATE_BIN_DIR || path.join(ROOT, 'bin');
export const SMSGATED = path.join(BIN_DIR, 'smsgated');
export const SMSCTL = path.join(BIN_DIR, 'smsctl');
export const SIM_DELAY_MS = Number(process.env.SMSGATE_SIM_DELAY_MS || 50);

const LOG_LINE = /^\S+Z (ERROR|WARN|INFO|DEBUG) /;
const BAD_LEVEL = /^\S+Z (ERROR|WARN) /;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with the value of promise, or with null after ms (the timer does not keep the
// process alive once the promise settled).
function within(promise, ms) {
  let timer;
  const t = new Promise((r) => { timer = setTimeout(() => r(null), ms); });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// Polls fn() until it returns a truthy value; returns that value. Fails after timeoutMs with
// the last value (or error) in the message.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last, lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const detail = lastErr ? `last error: ${lastErr.stack || JSON.stringify(lastErr)}`
                             : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
    }
    await sleep(intervalMs);
  }
}

export function tlsFiles() {
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  const cert = process.env.SMSGATE_TEST_CERT;
  const key = process.env.SMSGATE_TEST_KEY;
  if (!ca || !cert || !key || ![ca, cert, key].every((f) => fs.existsSync(f))) {
    throw new Error('TLS test material missing: run the suite through tests/run-integration, '
      + 'which sets NODE_EXTRA_CA_CERTS, SMSGATE_TEST_CERT and SMSGATE_TEST_KEY');
  }
  return { ca, cert, key };
}

// A loopback port that was free a moment ago (bind port 0, read it, close).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function twoFreePorts() {
  for (;;) {
    const a = await freePort();
    const b = await freePort();
    if (a !== b) return [a, b];
  }
}

// Every smsgated started is recorded as SMSGATE_TEST_TMP/pids/PID while it runs, so that
// tests/run-integration can kill what a test process left behind when it was itself killed
// (a test timeout), which 'exit' handlers cannot do.
const PID_DIR = process.env.SMSGATE_TEST_TMP ? path.join(process.env.SMSGATE_TEST_TMP, 'pids') : null;
function rememberPid(pid) {
  if (!PID_DIR) return;
  try { fs.mkdirSync(PID_DIR, { recursive: true }); fs.writeFileSync(path.join(PID_DIR, String(pid)), ''); } catch { /* best effort */ }
}
function forgetPid(pid) {
  if (!PID_DIR) return;
  try { fs.rmSync(path.join(PID_DIR, String(pid)), { force: true }); } catch { /* best effort */ }
}

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// ---- the database: SQLite in the data dir, or PostgreSQL ----------------------------------

// The connection string the harness creates and drops databases through, or ''.
export const TEST_DATABASE = process.env.SMSGATE_TEST_DATABASE || '';
// 'sqlite' or 'postgres': which store this run of the suite tests.
export const DB_KIND = TEST_DATABASE ? 'postgres' : 'sqlite';

// For a test's options: { skip: sqliteOnly('why') } skips it on PostgreSQL with that reason.
// Only for tests about SQLite itself (its files); everything else runs on both.
export function sqliteOnly(reason) {
  return DB_KIND === 'sqlite' ? false : `SQLite only: ${reason}`;
}
// { skip: postgresOnly('why') }: tests of what needs PostgreSQL (several nodes, one database).
export function postgresOnly(reason) {
  return DB_KIND === 'postgres' ? false : `PostgreSQL only: ${reason}`;
}

function pgBinDir() {
  if (process.env.SMSGATE_PG_BINDIR) return process.env.SMSGATE_PG_BINDIR;
  const base = '/usr/lib/postgresql';
  let versions = [];
  try { versions = fs.readdirSync(base).filter((v) => /^\d+$/.test(v)); } catch { /* none */ }
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(base, versions[0], 'bin') : null;
}
// Debian's psql (by path: it is not on PATH, and what is on PATH may not be Debian's), or
// whatever psql is on PATH.
export const PSQL = (() => {
  const dir = pgBinDir();
  return dir && fs.existsSync(path.join(dir, 'psql')) ? path.join(dir, 'psql') : 'psql';
})();

// The environment of psql: none of the caller's PG* variables, which would override nothing
// given in the connection string but fill in what it leaves out.
function pgEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  env.PGCONNECT_TIMEOUT = '10';
  env.PGAPPNAME = 'smsgate-it';
  return env;
}

// The database of the server whose data dir is dataDir: smsgate_it_ and 16 hex digits of the
// SHA-1 of its absolute path (lower case, no quoting needed, unique per data dir).
export function databaseName(dataDir) {
  return 'smsgate_it_' + crypto.createHash('sha1').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
}

// The connection string of database name in the test cluster: SMSGATE_TEST_DATABASE with
// dbname=name appended (libpq takes the last value of a keyword), or the URI's path replaced.
export function databaseConninfo(name) {
  assert.ok(TEST_DATABASE, 'SMSGATE_TEST_DATABASE is not set');
  assert.match(name, /^[a-z_][a-z0-9_]{0,62}$/, 'a database name the harness can use unquoted');
  if (/^postgres(ql)?:\/\//.test(TEST_DATABASE)) {
    const u = new URL(TEST_DATABASE);
    u.pathname = '/' + name;
    return u.toString();
  }
  return `${TEST_DATABASE} dbname=${name}`;
}

function psqlArgs(conninfo, query) {
  return ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', query];
}

// Runs psql on the maintenance database (or conninfo) without blocking the event loop;
// resolves its stdout, rejects with its stderr.
export function psqlAsync(query, conninfo = TEST_DATABASE) {
  return new Promise((resolve, reject) => {
    const p = spawn(PSQL, psqlArgs(conninfo, query), { env: pgEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    p.on('error', (e) => reject(new Error(`${PSQL}: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve(out)
      : reject(new Error(`psql failed (${code}) on ${JSON.stringify(query)}: ${err.trim()}`))));
  });
}

// Every database created is recorded as SMSGATE_TEST_TMP/databases/NAME until it is dropped,
// so that tests/run-integration drops what a killed test process left behind.
const DB_DIR = process.env.SMSGATE_TEST_TMP ? path.join(process.env.SMSGATE_TEST_TMP, 'databases') : null;

// Creates database name in the test cluster unless it exists; resolves name.
export async function createDatabase(name) {
  const exists = await psqlAsync(`SELECT 1 FROM pg_database WHERE datname = '${name}'`);
  if (exists.trim() !== '1') {
    if (DB_DIR) {
      try { fs.mkdirSync(DB_DIR, { recursive: true }); fs.writeFileSync(path.join(DB_DIR, name), ''); } catch { /* best effort */ }
    }
    // Another server sharing it (opts.database) may be creating it right now.
    await psqlAsync(`CREATE DATABASE ${name}`).catch((e) => {
      if (!/already exists/.test(e.message)) throw e;
    });
  }
  return name;
}

// Drops database name (connections to it are ended first).
export async function dropDatabase(name) {
  await psqlAsync(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  if (DB_DIR) try { fs.rmSync(path.join(DB_DIR, name), { force: true }); } catch { /* best effort */ }
}

// For a smsgated started without the Server class: in PostgreSQL mode, creates the database of
// dataDir and returns ['--database', conninfo]; in SQLite mode [].
export async function databaseArgs(dataDir) {
  if (!TEST_DATABASE) return [];
  const name = await createDatabase(databaseName(dataDir));
  return ['--database', databaseConninfo(name)];
}

// Drops the database of dataDir made by databaseArgs() (nothing in SQLite mode).
export async function dropDatabaseOf(dataDir) {
  if (TEST_DATABASE && !process.env.SMSGATE_KEEP_TMP) await dropDatabase(databaseName(dataDir));
}

// SQLite has no booleans (0 and 1); PostgreSQL's json_agg writes true and false.
function sqliteLike(rows) {
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) if (typeof v === 'boolean') row[k] = v ? 1 : 0;
  }
  return rows;
}

// Runs a SELECT on database name and returns its rows as objects, as `sqlite3 -json` does:
// column names as keys, numbers as numbers, NULL as null, booleans as 0 and 1.
export function pgRows(name, query, conninfo = null) {
  const q = query.trim().replace(/;\s*$/, '');
  const r = spawnSync(PSQL, psqlArgs(conninfo || databaseConninfo(name),
    `SELECT COALESCE(json_agg(t), '[]'::json) FROM (${q}) t`), {
    encoding: 'utf8', env: pgEnv(), timeout: 30000, maxBuffer: 1 << 30,
  });
  assert.equal(r.status, 0, `psql failed: ${r.error || ''} ${r.stderr}\nquery: ${q}`);
  return sqliteLike(JSON.parse(r.stdout));
}

// A column read as CAST(x AS TEXT): PostgreSQL renders a bytea as \x and hex digits (SQLite
// gives a BLOB's bytes as text); this gives the text in both cases.
export function sqlText(v) {
  if (typeof v === 'string' && DB_KIND === 'postgres' && /^\\x(?:[0-9a-f]{2})*$/.test(v)) {
    return Buffer.from(v.slice(2), 'hex').toString('utf8');
  }
  return v;
}

// A throw-away PostgreSQL cluster of the test's own (scripts/pg-scratch), for tests that stop
// and restart PostgreSQL itself. Its directory is under os.tmpdir() (the postgres user must
// reach it when the tests run as root); this process is its owner: if it dies, pg-scratch's
// watchdog stops the cluster. Resolves {dir, conninfo, crash(), resume(), stop()}.
export async function scratchCluster() {
  const script = path.join(ROOT, 'scripts/pg-scratch');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-pg-'));
  const run = (cmd, extra = []) => new Promise((resolve, reject) => {
    const p = spawn(script, [cmd, dir, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out.trim())
      : reject(new Error(`pg-scratch ${cmd} ${dir} failed (${code}): ${err.trim()}`))));
  });
  const conninfo = await run('start', ['--owner', String(process.pid)]);
  return {
    dir, conninfo,
    crash: () => run('crash'),     // immediate shutdown, data kept
    resume: () => run('resume'),   // started again on the same port
    stop: () => run('stop'),       // fast shutdown, directory removed
  };
}

// ---- plain HTTP(S) requests --------------------------------------------------------------

// One request to a URL the server handed out (a document's putUrl, getUrl or url), as any
// client would make it; a body goes with contentType and its Content-Length. Resolves
// {status, text}; rejects on network errors.
export function urlRequest(method, url, body, contentType = 'application/octet-stream') {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body) };
    const req = mod.request(u, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// One HTTP request; resolves {status, headers, text, json} (json undefined when the body is
// not JSON). Never rejects on HTTP status; rejects on network errors.
export function httpRequest({ tls = false, port, method = 'GET', target, headers = {}, body,
                              timeoutMs = 15000, agent = false }) {
  const mod = tls ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({ host: '127.0.0.1', port, method, path: target, headers, agent,
                              timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text.length ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${target}: timed out`)));
    req.on('error', reject);
    if (body !== undefined && body !== null) req.write(body);
    req.end();
  });
}

export function ovhSignature(secret, consumerKey, method, url, body, timestamp) {
  const s = [secret, consumerKey, method, url, body || '', String(timestamp)].join('+');
  return '$1$' + crypto.createHash('sha1').update(s).digest('hex');
}

// ---- the server ----------------------------------------------------------------------------

// Whether the smsgated under test has the metrics-listen setting (read once from --help).
let metricsListen = null;
export function hasMetricsListen() {
  if (metricsListen === null) {
    const r = spawnSync(SMSGATED, ['--help'], { encoding: 'utf8', timeout: 10000 });
    metricsListen = /metrics-listen/.test(`${r.stdout}${r.stderr}`);
  }
  return metricsListen;
}

export class Server {
  constructor(opts = {}) {
    this.opts = opts;
    this.extraArgs = opts.args || [];
    this.expected = [...(opts.expectedLogs || [])];
    const base = process.env.SMSGATE_TEST_TMP || os.tmpdir();
    this.dir = opts.dataDir || fs.mkdtempSync(path.join(base, 'smsgate-it-'));
    this.dataDir = path.join(this.dir, 'data');
    // PostgreSQL mode: the server's database; opts.database names one to share with other
    // servers (a cluster of nodes), which finish() leaves to the test (tests/run-integration
    // drops it at the end of the run).
    // opts.conninfo: a database the test manages itself (a scratch cluster it stops and
    // starts), in either mode; the server's --database and sql() use it as it is.
    this.conninfo = opts.conninfo || null;
    // opts.database false: no --database at all (a test of SMSGATE_DATABASE).
    this.database = TEST_DATABASE && !this.conninfo && opts.database !== false
      ? (opts.database || databaseName(this.dataDir)) : null;
    this.ownDatabase = !opts.database;
    this.databaseReady = false;
    this.runs = [];      // {logPath, args, exit}
    this.proc = null;
    this.timeDiff = null;
  }

  get logPaths() { return this.runs.map((r) => r.logPath); }

  // Every log line of every run so far.
  logText() {
    return this.runs.map((r) => (fs.existsSync(r.logPath) ? fs.readFileSync(r.logPath, 'utf8') : ''))
      .join('');
  }

  logLines() { return this.logText().split('\n').filter((l) => l.length); }

  // Declares that a WARN/ERROR line matching re is expected (the log check ignores it).
  expectLog(re) { this.expected.push(re); }

  unexpectedLogLines() {
    return this.logLines().filter((l) => BAD_LEVEL.test(l) && !this.expected.some((re) => re.test(l)));
  }

  async start(extraArgs = []) {
    const { cert, key } = tlsFiles();
    // 0700, as an operator should create it (smsgated warns about a directory others can read).
    if (!fs.existsSync(this.dataDir)) fs.mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    if (this.database && !this.databaseReady) {
      await createDatabase(this.database);
      fs.writeFileSync(path.join(this.dir, 'database'), `${this.database}\n`);
      this.databaseReady = true;
    }
    const dbArgs = this.conninfo ? ['--database', this.conninfo]
      : this.database ? ['--database', databaseConninfo(this.database)] : [];
    for (let attempt = 1; ; attempt++) {
      const [port, tlsPort] = await twoFreePorts();
      // Prometheus' /metrics (docs/metrics.md) on a port of its own: srv.metrics(). (A binary
      // older than the setting, SMSGATE_BIN_DIR=/work/main/bin, runs without it.)
      let metricsPort = null;
      if (hasMetricsListen()) {
        do metricsPort = await freePort(); while (metricsPort === port || metricsPort === tlsPort);
      }
      const args = ['--data', this.dataDir, ...dbArgs,
        '--listen', `127.0.0.1:${port}`,
        '--tls-listen', `127.0.0.1:${tlsPort}`,
        ...(metricsPort ? ['--metrics-listen', `127.0.0.1:${metricsPort}`] : []),
        '--tls-cert', cert, '--tls-key', key,
        '--sim-delay-ms', String(this.opts.simDelayMs ?? SIM_DELAY_MS),
        // Test receivers of callbacks listen on loopback; a test about the refusal passes
        // --callback-allow-private=false after this.
        '--callback-allow-private',
        // Tests run at any hour: marketing SMS to French numbers would be held at night and on
        // Sundays (docs/replies.md, "Marketing hours"); the tests of those hours pass
        // --marketing-hours=true after this.
        '--marketing-hours=false',
        ...this.extraArgs, ...extraArgs];
      const logPath = path.join(this.dir, `smsgated-${this.runs.length + 1}.log`);
      const logFd = fs.openSync(logPath, 'w');
      // opts.ulimit: the open-file limit (soft and hard) of the server; sh sets it and execs
      // smsgated in its place, so proc.pid stays the server's pid.
      const proc = this.opts.ulimit
        ? spawn('/bin/sh', ['-c', `ulimit -n ${Number(this.opts.ulimit)} && exec "$0" "$@"`, SMSGATED, ...args],
          { stdio: ['ignore', logFd, logFd] })
        : spawn(SMSGATED, args, { stdio: ['ignore', logFd, logFd] });
      fs.closeSync(logFd);
      const run = { logPath, args, exit: null, proc, spawnError: null };
      this.runs.push(run);
      live.add(proc);
      run.exited = new Promise((resolve) => {
        proc.on('error', (e) => { // spawn failed: no 'exit' follows
          live.delete(proc);
          run.spawnError = e;
          run.exit = { code: null, signal: null, error: e.code || e.message };
          resolve(run.exit);
        });
        proc.on('exit', (code, signal) => {
          live.delete(proc);
          if (proc.pid) forgetPid(proc.pid);
          run.exit = { code, signal };
          resolve(run.exit);
        });
      });
      if (proc.pid) rememberPid(proc.pid);
      this.proc = proc;
      this.run = run;
      this.port = port;
      this.tlsPort = tlsPort;
      this.metricsPort = metricsPort;
      const ok = await this.waitReady(run);
      if (ok) return this;
      const log = fs.readFileSync(logPath, 'utf8');
      // A binary being rebuilt right now (EACCES, ETXTBSY), or a port taken between freePort()
      // and the bind: try again.
      if (attempt < 5 && (run.spawnError || /in use|EADDRINUSE/i.test(log))) {
        this.runs.pop();
        await sleep(run.spawnError ? 500 : 0);
        continue;
      }
      if (!run.exit) { // alive but not answering: do not leave it behind
        proc.kill('SIGKILL');
        await run.exited;
      }
      throw new Error(`smsgated did not start (exit ${JSON.stringify(run.exit)}); log:\n${log}`);
    }
  }

  async waitReady(run, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (run.exit) return false;
      try {
        const r = await httpRequest({ port: this.port, target: '/1.0/auth/time', timeoutMs: 1000 });
        if (r.status === 200 && Number.isInteger(r.json)) return true;
      } catch { /* not listening yet */ }
      await sleep(25);
    }
    return false;
  }

  // Graceful stop: SIGTERM, exit 0 within 15 s.
  async stop({ timeoutMs = 15000 } = {}) {
    const run = this.run;
    if (!run || run.exit) return run && run.exit;
    const t0 = Date.now();
    run.expectedExit = true;
    run.proc.kill('SIGTERM');
    const exit = await within(run.exited, timeoutMs);
    if (!exit) {
      run.proc.kill('SIGKILL');
      await run.exited;
      assert.fail(`smsgated did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    assert.deepEqual(exit, { code: 0, signal: null },
      `smsgated exited with ${JSON.stringify(exit)} after SIGTERM (${Date.now() - t0} ms)`);
    return exit;
  }

  // Sends SIGTERM without waiting; returns a promise of {exit, ms} (ms from the signal to the
  // exit, or exit null after timeoutMs).
  terminate(timeoutMs = 15000) {
    const run = this.run;
    const t0 = Date.now();
    run.expectedExit = true;
    run.proc.kill('SIGTERM');
    return within(run.exited, timeoutMs).then(async (exit) => {
      const ms = Date.now() - t0;
      if (!exit) { // hung: do not leave it behind
        run.proc.kill('SIGKILL');
        await run.exited;
      }
      return { exit, ms };
    });
  }

  // Crash: SIGKILL and wait for the process to be gone.
  async kill9() {
    const run = this.run;
    if (!run || run.exit) return run && run.exit;
    run.expectedExit = true;
    run.proc.kill('SIGKILL');
    return run.exited;
  }

  // Waits for the current process to exit by itself (e.g. fault injection abort()).
  async waitExit(timeoutMs = 15000) {
    this.run.expectedExit = true;
    const exit = await within(this.run.exited, timeoutMs);
    assert.ok(exit, `smsgated did not exit within ${timeoutMs} ms`);
    return exit;
  }

  async restart(extraArgs = []) {
    this.timeDiff = null;
    return this.start(extraArgs);
  }

  // The end of a test file: graceful stop, then the log check, then cleanup.
  async finish() {
    const run = this.run;
    if (run && run.exit && !run.expectedExit) {
      const tail = fs.readFileSync(run.logPath, 'utf8').split('\n').slice(-20).join('\n');
      assert.fail(`smsgated died during the tests (${JSON.stringify(run.exit)}); log tail:\n${tail}`);
    }
    await this.stop();
    const bad = this.unexpectedLogLines();
    assert.deepEqual(bad, [], `unexpected WARN/ERROR lines in the smsgated log (${this.dir}):\n`
      + bad.join('\n'));
    for (const l of this.logLines()) {
      assert.match(l, LOG_LINE, `a smsgated log line does not have the documented shape: ${l}`);
    }
    if (this.database || this.conninfo) {
      assert.ok(!fs.existsSync(path.join(this.dataDir, 'smsgate.db')),
        `smsgated ran with --database but created a SQLite database in ${this.dataDir}`);
    }
    if (!process.env.SMSGATE_KEEP_TMP) {
      if (this.database && this.ownDatabase && this.databaseReady) await dropDatabase(this.database);
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // ---- smsctl ----

  smsctl(args, { env = {}, input } = {}) {
    const r = spawnSync(SMSCTL, ['--data', this.dataDir, ...args], {
      encoding: 'utf8', env: { ...process.env, ...env }, input, timeout: 30000, maxBuffer: 1 << 30,
    });
    let json;
    try { json = JSON.parse(r.stdout); } catch { json = undefined; }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json, error: r.error };
  }

  smsctlOk(args, opts) {
    const r = this.smsctl(args, opts);
    assert.equal(r.status, 0, `smsctl ${args.join(' ')} failed (${r.status}${r.error ? ' ' + r.error : ''}): `
      + `${r.stderr}${r.stdout}`.slice(0, 2000));
    return r;
  }

  createAccount(name, credits) {
    const args = ['account', 'create', name, '--json'];
    if (credits !== undefined) args.push('--credits', String(credits));
    const r = this.smsctlOk(args);
    const k = r.json;
    assert.ok(k && k.applicationKey && k.applicationSecret && k.consumerKey && k.serviceName,
      `account create answered ${r.stdout}`);
    return {
      account: k.account, serviceName: k.serviceName, appKey: k.applicationKey,
      appSecret: k.applicationSecret, consumerKey: k.consumerKey,
    };
  }

  ledger(serviceName) {
    return this.smsctlOk(['ledger', serviceName, '--json']).json;
  }

  // GET /metrics on the server's Prometheus listener (--metrics-listen, docs/metrics.md):
  // {status, headers, text}; parse the text with parse-prometheus-text-format.
  metrics(target = '/metrics') {
    return httpRequest({ port: this.metricsPort, target });
  }

  // A SELECT on the server's database (sqlite3 on the data dir's file, or psql on its
  // PostgreSQL database); returns rows as objects, the same in both modes (pgRows()). Write
  // queries both dialects accept (no SUM(a = b): SUM(CASE WHEN a = b THEN 1 ELSE 0 END)).
  sql(query) {
    if (this.conninfo) return pgRows(null, query, this.conninfo);
    if (this.database) return pgRows(this.database, query);
    const r = spawnSync('sqlite3', ['-json', path.join(this.dataDir, 'smsgate.db'), query], {
      encoding: 'utf8', timeout: 30000, maxBuffer: 1 << 30,
    });
    assert.equal(r.status, 0, `sqlite3 failed: ${r.error || ''} ${r.stderr}`);
    return r.stdout.trim() ? JSON.parse(r.stdout) : [];
  }

  // ---- the OVH SDK ----

  sdk(keys, extra = {}) {
    return ovh({
      appKey: keys.appKey, appSecret: keys.appSecret, consumerKey: keys.consumerKey,
      host: '127.0.0.1', port: this.tlsPort, basePath: '/1.0', ...extra,
    });
  }

  // ---- hand-signed requests ----

  async serverTime() {
    const r = await httpRequest({ port: this.port, target: '/1.0/auth/time' });
    assert.equal(r.status, 200);
    return r.json;
  }

  // req: {method, path ('/sms/...', under /1.0 unless target is given), target, query (object),
  //       body (object -> JSON, string -> as is), keys, secret (override), timestamp, tls,
  //       headers (extra/override; a null value removes the header), sign (default true),
  //       signUrl (override), agent}
  async raw(req) {
    const method = req.method || 'GET';
    let target = req.target || '/1.0' + req.path;
    if (req.query) {
      const qs = new URLSearchParams(req.query).toString().replace(/\+/g, '%20');
      if (qs) target += '?' + qs;
    }
    let body = req.body;
    if (body !== undefined && typeof body !== 'string') body = JSON.stringify(body);
    if (this.timeDiff === null) this.timeDiff = (await this.serverTime()) - Math.round(Date.now() / 1000);
    const ts = req.timestamp ?? Math.round(Date.now() / 1000) + this.timeDiff;
    const tls = !!req.tls;
    const port = tls ? this.tlsPort : this.port;
    const headers = { 'Content-Type': 'application/json' };
    const keys = req.keys;
    if (keys) {
      headers['X-Ovh-Application'] = keys.appKey;
      headers['X-Ovh-Timestamp'] = String(ts);
      if (keys.consumerKey) {
        headers['X-Ovh-Consumer'] = keys.consumerKey;
        if (req.sign !== false) {
          const url = req.signUrl || `${tls ? 'https' : 'http'}://127.0.0.1:${port}${target}`;
          headers['X-Ovh-Signature'] = ovhSignature(req.secret ?? keys.appSecret,
            keys.consumerKey, method, url, body, ts);
        }
      }
    }
    if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
    for (const [k, v] of Object.entries(req.headers || {})) {
      for (const h of Object.keys(headers)) if (h.toLowerCase() === k.toLowerCase()) delete headers[h];
      if (v !== null) headers[k] = v;
    }
    return httpRequest({ tls, port, method, target, headers, body, agent: req.agent ?? false,
                         timeoutMs: req.timeoutMs });
  }
}

export async function startServer(opts = {}) {
  const s = new Server(opts);
  await s.start();
  return s;
}

// ---- SDK helpers ---------------------------------------------------------------------------

// Awaits an SDK call that must fail; returns the SDK's rejection {error: status, message}.
export async function sdkError(promise) {
  let value;
  try {
    value = await promise;
  } catch (e) {
    return e;
  }
  assert.fail(`expected the call to fail, it answered ${JSON.stringify(value)}`);
}

// Asserts the shape of an OVH error answer from a raw request.
export function assertOvhError(res, status, { errorCode, message } = {}) {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text}`);
  assert.match(String(res.headers['content-type']), /^application\/json/,
    `error Content-Type: ${res.headers['content-type']}`);
  assert.ok(res.json && typeof res.json === 'object' && !Array.isArray(res.json),
    `error body is not a JSON object: ${res.text}`);
  assert.equal(typeof res.json.message, 'string', `error body has no message: ${res.text}`);
  assert.ok(res.json.message.length > 0);
  // smsgate sends the superset of OVH's error shapes (spec 3.2): class and httpCode always.
  assert.match(String(res.json.httpCode), new RegExp(`^${status} \\S`), `httpCode in ${res.text}`);
  assert.match(String(res.json.class), /^Client::|^Server::/, `class in ${res.text}`);
  if (errorCode !== undefined) assert.equal(res.json.errorCode, errorCode, `errorCode in ${res.text}`);
  if (message !== undefined) {
    if (message instanceof RegExp) assert.match(res.json.message, message);
    else assert.equal(res.json.message, message);
  }
  return res.json;
}

// Waits until GET /sms/{sn}/outgoing/{id} satisfies pred; returns the object.
export async function waitOutgoing(client, sn, id, pred, opts = {}) {
  let last;
  await waitFor(async () => {
    last = await client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`);
    return pred(last);
  }, { what: `SMS ${id} of ${sn} to reach the expected state`, ...opts }).catch((e) => {
    throw new Error(`${e.message}\nlast object: ${JSON.stringify(last)}`);
  });
  return last;
}

// A short unique suffix for account names ([a-z0-9-]).
export function uniq(prefix) {
  return `${prefix}-${crypto.randomBytes(3).toString('hex')}`;
}
