// cluster.test.mjs - several nodes on one database (docs/cluster.md), on SQLite: nodes on the
// same data directory share its database as they would share a PostgreSQL one.
//   - a node registers under its host name; `smsctl node list` shows it alive, with its address;
//   - a second smsgated under a name that is alive is refused at start (exit 1, clear error);
//     a node killed and started again takes its name back at once;
//   - a route's `--binds 2` is a total: two nodes hold one bind slot each, the SMSC never sees
//     more than 2 binds, each node sends at half the route's tps, messages sent through both
//     nodes are delivered; a node killed with SIGKILL has its slot taken within the takeover
//     timeout (`smsctl route status` shows each bind's node, `node list` says dead); a node
//     holding no bind of a route leaves its messages to one that does (no failover);
//   - configuration changes reach a node within 2 s: a route disabled through another node, a
//     route added and a consumer key refused by a direct write to the database;
//   - a node that cannot renew its heartbeat (the database locked by another writer) closes its
//     binds after half the timeout and opens them again once it can.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from './lib/test.mjs';

import { SMSGATED, Server, sleep, sqliteOnly, startServer, waitFor } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '300'];
const TIMEOUT_S = 4; // node-timeout-s: the fence falls 2 s after the last renewal
const HOST = os.hostname();

// The nodes share a data directory's SQLite file, written by sqlite3 and locked by another
// process; on PostgreSQL, cluster_nodes.test.mjs runs three nodes on one database.
const ON_SQLITE = sqliteOnly('nodes sharing one SQLite file (cluster_nodes.test.mjs runs PostgreSQL)');

describe('cluster', { skip: ON_SQLITE }, () => {
  let a, smsc, smsc2, keys, client, watch;
  let maxBound = 0;
  const others = []; // servers sharing a's database, stopped in after()

  // smsctl against one node (smsgated.url names the last node started on the directory).
  const ctl = (node, args) => a.smsctlOk(['--url', `http://127.0.0.1:${node.port}`, ...args]);
  const routeStatus = (node, name) => ctl(node, ['route', 'status', '--json']).json
    .find((r) => r.name === name);
  const nodes = (node) => ctl(node, ['node', 'list', '--json']).json;
  const bound = () => [...smsc.sessions].filter((s) => s.bound).length;
  const dbPath = () => path.join(a.dataDir, 'smsgate.db');
  // A write by another process, as another node or the operator's sqlite3 would make.
  const sqlWrite = (q) => {
    const r = spawnSync('sqlite3', ['-cmd', '.timeout 10000', dbPath(), q], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
  };

  async function another(args) {
    const s = new Server({ args: [...FAST, '--node-timeout-s', String(TIMEOUT_S), '--data', a.dataDir, ...args] });
    others.push(s);
    await s.start();
    return s;
  }

  before(async () => {
    smsc = await new Smsc({ systemId: 'cl', password: 'pw' }).start();
    smsc2 = await new Smsc({ systemId: 'cl', password: 'pw' }).start(); // the route 'direct'

    a = await startServer({ args: [...FAST, '--node-timeout-s', String(TIMEOUT_S)] });
    keys = a.createAccount('cluster', 1000);
    client = a.sdk(keys);
    watch = setInterval(() => { maxBound = Math.max(maxBound, bound()); }, 10);
  });
  after(async () => {
    clearInterval(watch);
    try {
      for (const s of others) {
        if (s.run && !s.run.exit) await s.stop();
        fs.rmSync(s.dir, { recursive: true, force: true });
      }
      await a?.finish();
    } finally { // a failed check must not leave the SMSCs listening (the file would never end)
      await smsc?.stop();
      await smsc2?.stop();
    }
  });

  test('a node registers under its host name and node list shows it', async () => {
    const [n] = nodes(a);
    assert.equal(n.name, HOST);
    assert.equal(n.state, 'alive');
    assert.match(n.address, new RegExp(`http://127\\.0\\.0\\.1:${a.port}`));
    assert.ok(n.heartbeatAgeMs >= 0 && n.heartbeatAgeMs < 3000, JSON.stringify(n));
    const out = ctl(a, ['node', 'list']).stdout;
    assert.match(out, /^NODE\s+STATE\s+ADDRESS\s+HEARTBEAT\s+MESSAGES\s+CALLBACKS\s+BINDS$/m);
    assert.match(out, new RegExp(`^${HOST.replace(/[.]/g, '\\.')}\\s+alive\\s+http://\\S+\\s+\\d+\\.\\ds ago\\s+0\\s+0\\s+-$`, 'm'));
  });

  test('a second smsgated under a name that is alive is refused at start', async () => {
    const dup = new Server({ args: ['--data', a.dataDir] });
    try {
      await assert.rejects(dup.start(), (e) => {
        assert.match(e.message, /exit \{"code":1,"signal":null\}/);
        assert.match(e.message, new RegExp(`Node name '${HOST}' is held by another smsgated running on the data directory`));
        return true;
      });
    } finally {
      fs.rmSync(dup.dir, { recursive: true, force: true });
    }
    assert.equal(nodes(a).length, 1);
    // A heartbeat too slow for the timeout (the node would fence itself between two) is a
    // configuration error.
    const r = spawnSync(SMSGATED, ['--node-timeout-s', '3', '--data', path.join(a.dir, 'never')],
      { encoding: 'utf8', timeout: 10000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'heartbeat-ms' \(1000\) must be at most a quarter of 'node-timeout-s' \(3 s\)/);
  });

  test('a node killed and started again takes its name back at once', async () => {
    const d = await another(['--node', 'node-d']);
    const before = nodes(a).find((n) => n.name === 'node-d');
    d.run.expectedExit = true;
    d.proc.kill('SIGKILL');
    await d.run.exited;
    await d.restart();
    const now = nodes(a).find((n) => n.name === 'node-d');
    assert.equal(now.state, 'alive');
    assert.notEqual(now.instance, before.instance);
    await d.stop();
    assert.equal(nodes(a).find((n) => n.name === 'node-d').state, 'stopped');
    assert.deepEqual(d.unexpectedLogLines(), []);
  });

  test('binds 2 is a total: two nodes hold one slot each, a killed node\'s slot is taken over', { timeout: 60000 }, async () => {
    ctl(a, ['route', 'add', 'op', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', 'cl', '--password', 'pw',
      '--prefix', '+34', '--binds', '2', '--tps', '10', '--window', '5']);
    await waitFor(() => {
      const r = routeStatus(a, 'op');
      return r && r.binds.every((b) => b.state === 'BOUND' && b.holder === HOST);
    }, { what: 'node a to hold and bind both slots' });
    assert.equal(routeStatus(a, 'op').tpsShare, 10);
    assert.match(ctl(a, ['route', 'status', 'op']).stdout,
      new RegExp(`^ {2}bind op#1 transceiver: BOUND, window 0/5, node ${HOST}$`, 'm'));

    const b = await another(['--node', 'node-b']);
    // a gives one slot up (closing its bind first), b takes it.
    await waitFor(() => {
      const ra = routeStatus(a, 'op'), rb = routeStatus(b, 'op');
      return ra && rb && ra.binds.filter((x) => x.state === 'BOUND').length === 1
        && rb.binds.filter((x) => x.state === 'BOUND').length === 1
        && new Set(ra.binds.map((x) => x.holder)).size === 2;
    }, { what: 'one slot on each node', timeoutMs: 15000 });
    const ra = routeStatus(a, 'op');
    assert.deepEqual(ra.binds.map((x) => x.holder).sort(), [HOST, 'node-b'].sort());
    assert.equal(ra.tpsShare, 5);
    assert.equal(routeStatus(b, 'op').tpsShare, 5);
    const list = nodes(a).filter((n) => n.state === 'alive');
    assert.deepEqual(list.map((n) => [n.name, n.state, n.slots.length]).sort(),
      [[HOST, 'alive', 1], ['node-b', 'alive', 1]].sort());
    assert.match(ctl(b, ['node', 'list']).stdout, /^node-b\s+alive\s+\S+\s+\S+ ago\s+0\s+0\s+op#\d$/m);

    // Messages sent through both nodes reach the SMSC and their receipts, whichever bind
    // carries them.
    const bClient = b.sdk(keys);
    const send = (cl, n, base) => cl.requestPromised('POST', `/sms/${keys.serviceName}/jobs`, {
      message: 'cluster', noStopClause: true, senderForResponse: true,
      receivers: Array.from({ length: n }, (_, i) => `+346${base + i}`) });
    const ids = [...(await send(client, 10, 12340000)).ids, ...(await send(bClient, 10, 12341000)).ids];
    await waitFor(() => a.sql(`SELECT COUNT(*) AS n FROM messages WHERE dlr = 1 AND id IN (${ids.join(',')})`)[0].n === 20,
      { what: 'the 20 messages delivered', timeoutMs: 20000 });
    assert.ok(maxBound <= 2, `the SMSC saw ${maxBound} binds at once`);
    assert.deepEqual(b.unexpectedLogLines(), []);

    // b dies: within the takeover timeout a holds both slots again.
    b.run.expectedExit = true;
    const t0 = Date.now();
    b.proc.kill('SIGKILL');
    await b.run.exited;
    await waitFor(() => {
      const r = routeStatus(a, 'op');
      return r.binds.every((x) => x.state === 'BOUND' && x.holder === HOST);
    }, { what: 'a to take node-b\'s slot', timeoutMs: 15000 });
    const ms = Date.now() - t0;
    assert.ok(ms < TIMEOUT_S * 1000 + 3000, `took ${ms} ms`);
    assert.equal(routeStatus(a, 'op').tpsShare, 10);
    const dead = nodes(a).find((n) => n.name === 'node-b');
    assert.equal(dead.state, 'dead');
    assert.deepEqual(dead.slots, []);
    assert.ok(maxBound <= 2, `the SMSC saw ${maxBound} binds at once`);
    a.expectLog(/Took over 1 node silent for node-timeout-s/);
  });

  test('a node without binds of a route leaves its messages to a node that has them (no failover)', { timeout: 60000 }, async () => {
    ctl(a, ['route', 'set', 'op', '--binds', '1']);
    const e = await another(['--node', 'node-e']);
    await waitFor(() => {
      const ra = routeStatus(a, 'op'), re = routeStatus(e, 'op');
      return ra?.binds.length === 1 && ra.binds[0].state === 'BOUND' && ra.binds[0].holder === HOST
        && re?.bindsElsewhere === 1 && re.bindsOpen === 0;
    }, { what: 'op bound on a only, up elsewhere for e', timeoutMs: 15000 });
    // Sent through e, claimed by either node: every one goes out on op's bind (on a), none
    // through the sim, the next route for +34 when op is down.
    const eClient = e.sdk(keys);
    const ids = [];
    for (let i = 0; i < 4; i++) {
      ids.push(...(await eClient.requestPromised('POST', `/sms/${keys.serviceName}/jobs`, {
        message: 'via e', noStopClause: true, senderForResponse: true,
        receivers: Array.from({ length: 5 }, (_, k) => `+3461235${i}${k}00`) })).ids);
      await sleep(100);
    }
    await waitFor(() => a.sql(`SELECT COUNT(*) AS n FROM messages WHERE dlr = 1 AND id IN (${ids.join(',')})`)[0].n === 20,
      { what: 'the 20 messages delivered', timeoutMs: 20000 });
    const routes = a.sql(`SELECT route, COUNT(*) AS n FROM messages WHERE id IN (${ids.join(',')}) GROUP BY route`);
    assert.deepEqual(routes, [{ route: 'op', n: 20 }]);
    assert.equal(routeStatus(e, 'op').up, true); // up for the cluster, though not here
    await e.stop();
    assert.deepEqual(e.unexpectedLogLines(), []);
    ctl(a, ['route', 'set', 'op', '--binds', '2']);
  });

  test('configuration changed through another node or in the database reaches a node within 2 s', { timeout: 60000 }, async () => {
    const c = await another(['--node', 'node-c']);
    // A route disabled through node c: node a stops using it.
    ctl(c, ['route', 'disable', 'op']);
    let t0 = Date.now();
    await waitFor(() => routeStatus(a, 'op')?.enabled === false || !routeStatus(a, 'op'),
      { what: 'node a to see the route disabled', timeoutMs: 5000, intervalMs: 50 });
    assert.ok(Date.now() - t0 < 2000, `seen after ${Date.now() - t0} ms`);
    ctl(c, ['route', 'enable', 'op']);
    // A route added by a direct write to the database.
    sqlWrite("INSERT INTO routes(name, kind, host, port, system_id, password, binds, prefixes, priority, "
      + `created_ms, updated_ms) VALUES ('direct', 'smpp', '127.0.0.1', ${smsc2.port}, 'cl', 'pw', 1, '+35', 100, 0, 0)`);
    t0 = Date.now();
    await waitFor(() => routeStatus(a, 'direct'), { what: 'node a to use the new route', timeoutMs: 5000, intervalMs: 50 });
    assert.ok(Date.now() - t0 < 2000, `seen after ${Date.now() - t0} ms`);
    // A consumer key in use (cached by a), refused by a direct write: refused within 2 s.
    await client.requestPromised('GET', `/sms/${keys.serviceName}`);
    sqlWrite(`UPDATE credentials SET state = 'refused' WHERE consumer_key = '${keys.consumerKey}'`);
    t0 = Date.now();
    await waitFor(async () => {
      try { await client.requestPromised('GET', `/sms/${keys.serviceName}`); return false; } catch (e) { return e.error === 403; }
    }, { what: 'the refused key to be refused', timeoutMs: 5000, intervalMs: 50 });
    assert.ok(Date.now() - t0 < 2000, `refused after ${Date.now() - t0} ms`);
    sqlWrite(`UPDATE credentials SET state = 'validated' WHERE consumer_key = '${keys.consumerKey}'`);
    sqlWrite("DELETE FROM routes WHERE name = 'direct'");
    // A clean stop says so, and frees what the node held at once.
    await c.stop();
    const stopped = nodes(a).find((n) => n.name === 'node-c');
    assert.equal(stopped.state, 'stopped');
    assert.deepEqual(c.unexpectedLogLines(), []);
  });

  test('a node that cannot renew its heartbeat closes its binds, and opens them once it can', { timeout: 60000 }, async () => {
    await waitFor(() => {
      const r = routeStatus(a, 'op');
      return r && r.enabled && r.binds.every((x) => x.state === 'BOUND' && x.holder === HOST);
    }, { what: 'both binds on a', timeoutMs: 15000 });
    await waitFor(() => bound() === 2, { what: 'the SMSC to see both binds' });
    a.expectLog(/could not renew its heartbeat for \d+ ms \(half of node-timeout-s 4\): it stops dispatching/);
    // Another writer holds the database's write lock for 3.5 s (the store waits up to 5 s): the
    // last renewal was up to a heartbeat (1 s) before, so the fence falls 1 to 2 s into it.
    const lock = spawn('sqlite3', [dbPath()], { stdio: ['pipe', 'ignore', 'ignore'] });
    lock.stdin.write('BEGIN EXCLUSIVE;\n');
    const t0 = Date.now();
    try {
      await waitFor(() => bound() === 0, { what: 'the binds to close', timeoutMs: 3400, intervalMs: 20 });
      const ms = Date.now() - t0;
      assert.ok(ms >= TIMEOUT_S * 500 - 1100 && ms < TIMEOUT_S * 1000, `closed after ${ms} ms`);
      await sleep(Math.max(0, 3500 - (Date.now() - t0)));
    } finally {
      lock.stdin.end('COMMIT;\n');
    }
    await waitFor(() => bound() === 2, { what: 'the binds to open again', timeoutMs: 10000 });
    const [id] = (await client.requestPromised('POST', `/sms/${keys.serviceName}/jobs`, {
      message: 'after the fence', noStopClause: true, senderForResponse: true, receivers: ['+34612349999'] })).ids;
    await waitFor(() => a.sql(`SELECT dlr FROM messages WHERE id = ${id}`)[0]?.dlr === 1,
      { what: 'a message sent after the fence delivered' });
    assert.ok(maxBound <= 2, `the SMSC saw ${maxBound} binds at once`);
  });
});

describe('upgrade from a version without nodes', { skip: ON_SQLITE }, () => {
  test('messages an older version left leased to its node "local" are sent at once after the upgrade', async () => {
    const s = await startServer();
    try {
      const k = s.createAccount('legacy', 100);
      const cl = s.sdk(k);
      const { ids: [id] } = await cl.requestPromised('POST', `/sms/${k.serviceName}/jobs`, {
        message: 'left behind', noStopClause: true, senderForResponse: true,
        receivers: ['+33612345678'], differedPeriod: 60 });
      await s.stop();
      // What a crash of an older version leaves: claimed by the node "local", lease 10 minutes.
      const now = Date.now();
      s.sql(`UPDATE messages SET state = 2, due_ms = ${now}, lease_owner = 'local', `
        + `lease_ms = ${now + 600000} WHERE id = ${id}`);
      await s.restart();
      await waitFor(() => s.sql(`SELECT dlr FROM messages WHERE id = ${id}`)[0].dlr === 1,
        { what: 'the message delivered', timeoutMs: 10000 });
      assert.match(s.logText(), /Requeued 1 messages leased by a node of an older version/);
    } finally {
      await s.finish();
    }
  });
});
