// cluster_nodes.test.mjs - several smsgated nodes on one PostgreSQL (issue 13): sends spread over three
// nodes through the official OVH SDK, an SMPP route with --binds 2, one node killed (SIGKILL)
// while it sends. Every id any node answered reaches the SMSC, reaches deliveryReceipt 1 and its
// final status callback; the balance is the ledger's sum and the model's; the SMSC never saw more
// than 2 binds at once; the dead node's work moves again within the takeover timeout (measured).
// Also: three nodes started at the same instant on an empty database apply each migration once;
// a node name alive elsewhere (another data directory, same database) is refused.
// Runs in the PostgreSQL pass of the suite (SMSGATE_TEST_DATABASE); cluster.test.mjs runs the
// cluster's mechanics on both stores.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { createDatabase, postgresOnly, startServer, uniq, waitFor } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

const ONLY = postgresOnly('several nodes share one PostgreSQL database');
const N = 240;            // sends, one receiver each, spread over the nodes
const START = 100000;     // credits
const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '300',
  '--node-timeout-s', '6', '--heartbeat-ms', '500'];

class Sink {
  constructor() { this.hits = []; }
  async start() {
    this.srv = http.createServer((req, res) => {
      const params = Object.fromEntries(new URL(req.url, 'http://x').searchParams);
      this.hits.push({ at: Date.now(), params });
      res.end('ok');
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }
  stop() { return new Promise((r) => this.srv.close(r)); }
  finals() {
    const m = new Map();
    for (const h of this.hits) if (h.params.dlr === '1') m.set(Number(h.params.id), h);
    return m;
  }
}

describe('three nodes on one PostgreSQL', { skip: ONLY }, () => {
  let db, nodes = [], smsc, sink, keys, sn;

  before(async () => {
    db = await createDatabase(uniq('cluster_').toLowerCase().replace(/[^a-z0-9_]/g, '_'));
    smsc = await new Smsc({ systemId: 'clu', respondDelayMs: 150, receiptDelayMs: 50 }).start();
    sink = await new Sink().start();
    for (const name of ['n1', 'n2', 'n3']) {
      nodes.push(await startServer({ database: db, args: [...FAST, '--node', name] }));
    }
    nodes[0].smsctlOk(['route', 'add', 'clu', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', 'clu',
      '--prefix', '+33', '--binds', '2', '--window', '20']);
    nodes[0].smsctlOk(['route', 'disable', 'sim']);
    await waitFor(() => smsc.boundCount('clu') === 2, { what: 'two binds across the cluster' });
    // Each node learns the change within its config poll: until then it may still pick the sim
    // for a message, which would then never reach the SMSC (seen on a slow machine).
    for (const n of nodes) {
      await waitFor(() => {
        const sim = n.smsctlOk(['route', 'status', '--json']).json.find((r) => r.name === 'sim');
        return !sim || sim.enabled === false;
      }, { what: 'every node to see the sim route disabled' });
    }
    keys = nodes[0].createAccount('cluster', START);
    sn = keys.serviceName;
    const client = nodes[1].sdk(keys);
    await client.requestPromised('PUT', `/sms/${sn}`, { callBack: `http://127.0.0.1:${sink.port}/cb` });
  });
  after(async () => {
    for (const n of nodes) await n?.finish();
    await smsc?.stop();
    await sink?.stop();
  });

  test('a node killed while sending: nothing lost, binds held to 2, takeover within the timeout', { timeout: 120000 }, async () => {
    const clients = nodes.map((n) => n.sdk(keys));
    // The node to kill holds a bind (one of the three holds none).
    const holders = new Set(nodes[0].smsctlOk(['route', 'status', '--json']).json
      .find((r) => r.name === 'clu').binds.map((b) => b.holder).filter(Boolean));
    const victim = nodes.findIndex((n, i) => holders.has(`n${i + 1}`));
    assert.ok(victim >= 0, `no node holds a bind: ${[...holders]}`);
    const ids = [];
    let next = 0, killedAt = 0;
    const worker = async () => {
      while (next < N) {
        const i = next++;
        const k = i % 3;
        if (k === victim && killedAt) continue; // its port is gone
        try {
          const rep = await clients[k].requestPromised('POST', `/sms/${sn}/jobs`, {
            message: `cluster ${i}`, receivers: [`+3361${String(i).padStart(7, '0')}`],
            senderForResponse: true, noStopClause: true });
          ids.push(...rep.ids);
        } catch (e) {
          // Only requests to the killed node may fail (no answer: nothing promised).
          assert.ok(k === victim && killedAt, `send ${i} to node ${k + 1} failed: ${e.message || JSON.stringify(e)}`);
        }
        if (!killedAt && ids.length >= N / 3) { // a third answered: kill it while it sends
          killedAt = Date.now();
          await nodes[victim].kill9();
        }
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    assert.ok(killedAt, 'the node was killed while sending');

    // The dead node's leases: its bind slot held by another node again, and no message left
    // leased to it.
    for (const n of nodes) n.expectLog(/WARN cluster: Took over 1 node silent for node-timeout-s/);
    const victimName = `n${victim + 1}`;
    const alive = nodes.find((n, i) => i !== victim);
    let movedAt = 0;
    await waitFor(() => {
      const held = alive.sql(`SELECT count(*) AS n FROM messages WHERE state = 2 AND lease_owner = '${victimName}'`)[0].n;
      if (held === 0 && smsc.boundCount('clu') === 2) { movedAt = Date.now(); return true; }
      return false;
    }, { timeoutMs: 30000, intervalMs: 100, what: "the dead node's messages and bind to move" });
    const takeoverMs = movedAt - killedAt;
    console.log(`# takeover: ${takeoverMs} ms after SIGKILL (node-timeout-s 6)`);
    assert.ok(takeoverMs < 10000, `takeover took ${takeoverMs} ms`);

    // Every answered id reaches the SMSC, deliveryReceipt 1, and its final callback.
    const unique = [...new Set(ids)];
    assert.equal(unique.length, ids.length, 'an id answered twice');
    await waitFor(() => {
      const rows = alive.sql(`SELECT count(*) AS n FROM messages WHERE id IN (${unique.join(',')}) AND dlr = 1`);
      return rows[0].n === unique.length;
    }, { timeoutMs: 60000, what: `${unique.length} messages to reach deliveryReceipt 1` });
    const texts = smsc.acceptedTexts();
    const rows = alive.sql(`SELECT id, message FROM messages WHERE id IN (${unique.join(',')})`);
    let dups = 0;
    for (const r of rows) {
      assert.ok(texts.get(r.message) >= 1, `message ${r.id} never reached the SMSC`);
      dups += texts.get(r.message) - 1;
    }
    assert.ok(dups <= 20, `${dups} duplicate submits: more than the dead node's window (20)`);
    await waitFor(() => unique.every((id) => sink.finals().has(id)),
      { timeoutMs: 60000, what: 'every final status callback' });
    assert.ok(smsc.maxBound <= 2, `the SMSC saw ${smsc.maxBound} binds at once`);

    // Money: the balance is the ledger's sum, and the model's (every message delivered: no refund).
    const ledger = alive.ledger(sn);
    let sum = 0;
    for (const r of ledger) {
      sum = Math.round((sum + r.amount) * 1000) / 1000;
      assert.equal(r.balance, sum, `ledger row ${JSON.stringify(r)} is not the running sum`);
    }
    const acc = await alive.sdk(keys).requestPromised('GET', `/sms/${sn}`);
    assert.equal(acc.creditsLeft, sum);
    const debited = alive.sql(`SELECT COALESCE(sum(credits), 0) AS c FROM messages WHERE service_id = `
      + `(SELECT id FROM services WHERE name = '${sn}')`)[0].c;
    assert.equal(sum, START - Number(debited) / 1000);
  });
});

describe('nodes started together on an empty database', { skip: ONLY }, () => {
  test('each migration is applied once, by one of them', { timeout: 60000 }, async () => {
    const db = await createDatabase(uniq('migrate_').toLowerCase().replace(/[^a-z0-9_]/g, '_'));
    const srvs = await Promise.all(['m1', 'm2', 'm3'].map((name) => startServer({ database: db, args: ['--node', name] })));
    try {
      const applied = srvs.flatMap((s) => s.logLines().map((l) => /Applied schema migration (\S+)\./.exec(l))
        .filter(Boolean).map((m) => m[1]));
      assert.equal(new Set(applied).size, applied.length, `a migration applied twice: ${applied}`);
      const total = srvs[0].sql('SELECT sum(version) AS n FROM schema_versions')[0].n;
      assert.equal(applied.length, Number(total), `${applied.length} applied, ${total} recorded`);
    } finally {
      for (const s of srvs) await s.finish();
    }
  });
});

describe('a node name alive on another machine is refused', { skip: ONLY }, () => {
  test('a second smsgated (its own data directory) under the same --node exits with an error', { timeout: 30000 }, async () => {
    const db = await createDatabase(uniq('dupnode_').toLowerCase().replace(/[^a-z0-9_]/g, '_'));
    const a = await startServer({ database: db, args: ['--node', 'same'] });
    try {
      await assert.rejects(startServer({ database: db, args: ['--node', 'same'] }),
        /Node name 'same' is held by another running smsgated/);
    } finally {
      await a.finish();
    }
  });
});
