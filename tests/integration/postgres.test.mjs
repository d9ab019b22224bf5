// postgres.test.mjs - smsgated on PostgreSQL (`--database`, docs/operations.md "PostgreSQL"):
// the node starts on a throw-away cluster (scripts/pg-scratch) and serves from it; the cluster
// stopped at once (immediate shutdown) makes the API answer 503 with an OVH error body, logged
// once for the outage and not once per request; started again, the node reconnects by itself
// and serves again. And a node whose database cannot be reached does not start.
//
// Sends through the OVH SDK while PostgreSQL is stopped and started again mid-stream: every
// send answered 200 before, during or after the outage is stored and delivered, every other
// answer is a 503 with an OVH body (nothing acknowledged is lost).
//
// Runs where Debian's postgresql package is installed (scripts/setup --tests); skipped
// elsewhere.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from './lib/test.mjs';
import { ROOT, SMSGATED, httpRequest, sleep, startServer, waitFor } from './lib/harness.mjs';

const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const SCRATCH = path.join(ROOT, 'scripts', 'pg-scratch');
const havePg = fs.existsSync(path.join(PGBIN, 'initdb'));

function scratch(cmd, dir) {
  const r = spawnSync(SCRATCH, [cmd, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `pg-scratch ${cmd}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('PostgreSQL backend', { skip: havePg ? false : `no ${PGBIN}/initdb` }, () => {
  let dir, conninfo, srv, token;

  before(async () => {
    dir = path.join(os.tmpdir(), `sg-pgit-${process.pid}`);
    conninfo = scratch('start', dir);
    srv = await startServer({ conninfo });
    token = fs.readFileSync(`${srv.dataDir}/admin.token`, 'utf8').trim();
  });

  after(async () => {
    if (srv) await srv.finish();
    if (dir) scratch('stop', dir);
  });

  const routes = () => httpRequest({ port: srv.port, target: '/admin/routes',
                                     headers: { Authorization: `Bearer ${token}` } });

  test('serves from PostgreSQL; 503 while it is away; back by itself', { timeout: 60000 }, async () => {
    assert.match(srv.logText(), /Connected to PostgreSQL 15\.\d+ .*synchronous_commit on/);
    assert.match(srv.logText(), /Applied schema migration core\/1\./);
    let r = await routes();
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.map((x) => x.name), ['sim']);

    srv.expectLog(/The connection to PostgreSQL was lost/);
    srv.expectLog(/The connection listening for other nodes' wake-ups is down/);
    srv.expectLog(/Renewing node '.*'s heartbeat failed \(database unreachable\)/);
    // a slow machine may keep the database away for more than half of node-timeout-s: the node
    // then fences itself (stops dispatching) until its heartbeat is renewed, as designed
    srv.expectLog(/Node '.*' could not renew its heartbeat for \d+ ms \(half of node-timeout-s/);
    // and a session still waiting for its next reconnection attempt (backoff up to 5 s) when the
    // server stops at the end of the file cannot record the stop: the others then wait for the
    // leases to end, as documented (docs/cluster.md)
    srv.expectLog(/Recording node '.*''s stop failed \(database unreachable\)/);
    scratch('crash', dir);
    for (let i = 0; i < 20; i++) {
      r = await routes();
      assert.equal(r.status, 503, r.text);
      assert.equal(r.json.message, 'The database is unreachable, please retry later');
      assert.equal(r.json.httpCode, '503 Service Unavailable');
    }
    await sleep(300); // dispatch and callbacks try again meanwhile
    // once per session that notices it: the store's four (the API's, the dispatcher's, the SMPP
    // routes', the callbacks': --database-sessions) and the cluster's (heartbeats) if they tried
    // meanwhile; never once per request (20 were refused)
    const lost = (srv.logText().match(/The connection to PostgreSQL was lost/g) || []).length;
    assert.ok(lost >= 1 && lost <= 5, `the outage is logged once per session, not ${lost} times`);
    assert.doesNotMatch(srv.logText(), /GET \/admin\/routes.*failed: 503/, 'not once per request');

    scratch('resume', dir);
    await waitFor(async () => (await routes()).status === 200,
                  { timeoutMs: 15000, what: 'the node serving again' });
    assert.match(srv.logText(), /Reconnected to PostgreSQL after \d+ ms without it\./);
    r = await routes();
    assert.deepEqual(r.json.map((x) => x.name), ['sim']);
  });

  test('PostgreSQL stopped and started mid-stream: every acknowledged send stored and delivered', { timeout: 90000 }, async () => {
    const keys = srv.createAccount('pg-outage', 100000);
    const client = srv.sdk(keys);
    const ids = [], statuses = {};
    let stop = false, n = 0;
    const worker = async () => {
      while (!stop) {
        const i = n++;
        try {
          const rep = await client.requestPromised('POST', `/sms/${keys.serviceName}/jobs`, {
            message: `outage ${i}`, receivers: [`+3360${String(i).padStart(7, '0')}`],
            senderForResponse: true, noStopClause: true });
          statuses[200] = (statuses[200] || 0) + 1;
          ids.push(...rep.ids);
        } catch (e) {
          statuses[e.error] = (statuses[e.error] || 0) + 1;
          assert.equal(e.error, 503, `send ${i}: ${JSON.stringify(e)}`);
          assert.equal(e.message, 'The database is unreachable, please retry later');
          await sleep(20);
        }
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    await waitFor(() => ids.length >= 30, { timeoutMs: 15000, what: '30 sends before the outage' });
    scratch('crash', dir);
    const before = ids.length;
    await waitFor(() => (statuses[503] || 0) >= 20, { timeoutMs: 15000, what: '503s while it is away' });
    scratch('resume', dir);
    await waitFor(() => ids.length >= before + 30, { timeoutMs: 30000, what: 'sends accepted again' });
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(Object.keys(statuses).sort(), ['200', '503'], JSON.stringify(statuses));
    assert.equal(new Set(ids).size, ids.length, 'an id answered twice');
    // The sim route delivers every stored message: each acknowledged id reaches deliveryReceipt 1.
    await waitFor(() => srv.sql(`SELECT count(*) AS n FROM messages WHERE id IN (${ids.join(',')}) `
      + 'AND dlr = 1')[0].n === ids.length, { timeoutMs: 40000, what: `${ids.length} acknowledged sends delivered` });
    const acc = await client.requestPromised('GET', `/sms/${keys.serviceName}`);
    const ledger = srv.ledger(keys.serviceName);
    assert.equal(acc.creditsLeft, ledger.reduce((a, r) => Math.round((a + r.amount) * 1000) / 1000, 0));
  });

  test('SMSGATE_DATABASE names the database when --database does not', { timeout: 30000 }, async () => {
    process.env.SMSGATE_DATABASE = conninfo;
    let other;
    try {
      other = await startServer({ database: false, args: ['--node', 'second'] });
    } finally {
      delete process.env.SMSGATE_DATABASE;
    }
    assert.match(other.logText(), /Connected to PostgreSQL 15\.\d+ /);
    assert.doesNotMatch(other.logText(), /Applied schema migration/, 'applied once, by the first node');
    const tok = fs.readFileSync(`${other.dataDir}/admin.token`, 'utf8').trim();
    const r = await httpRequest({ port: other.port, target: '/admin/routes',
                                  headers: { Authorization: `Bearer ${tok}` } });
    assert.equal(r.status, 200, r.text);
    assert.ok(!fs.existsSync(`${other.dataDir}/smsgate.db`), 'no SQLite database made');
    await other.finish();
  });

  test('a node that cannot reach its database does not start', { timeout: 30000 }, async () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-pgit-data-'));
    const r = spawnSync(SMSGATED, ['--data', data, '--listen', '127.0.0.1:0', '--tls-listen=',
                                   '--database', 'host=127.0.0.1 port=1 dbname=x connect_timeout=2'],
                        { encoding: 'utf8', timeout: 20000 });
    fs.rmSync(data, { recursive: true, force: true });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Connecting to PostgreSQL failed: .*port 1 failed/);
    assert.doesNotMatch(r.stderr, /port=1/, 'the connection string is not logged');
  });
});
