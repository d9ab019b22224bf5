// idempotency.test.mjs - the Idempotency-Key header on the POSTs that create something
// (issue 12, point 4; docs/api.md "Idempotency-Key"): a retry with the same key and body gets
// the first answer again, byte for byte, without sending or charging again; another body gets
// 422; a malformed key 400; a key still in flight 409; keys of two callers never meet; a key
// is forgotten after idempotency-ttl-s; records survive a restart. The crash cases are in
// crash.test.mjs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from './lib/test.mjs';

import { SMSCTL, assertOvhError, httpRequest, sleep, sqlText, startServer, uniq, waitFor } from './lib/harness.mjs';

// A TCP proxy to port that passes everything through, except the answer to the first POST:
// that request reaches the server, its answer never reaches the client (the connection is cut),
// as when a connection drops just before the answer.
function answerEatingProxy(port) {
  let dropped = 0;
  const server = net.createServer((client) => {
    const up = net.connect(port, '127.0.0.1');
    let post = false;
    client.on('data', (d) => {
      if (d.toString('latin1').startsWith('POST ')) post = true;
      up.write(d);
    });
    up.on('data', (d) => {
      if (post && dropped === 0) {
        dropped++;
        client.destroy();
        up.destroy();
        return;
      }
      client.write(d);
    });
    const end = () => { client.destroy(); up.destroy(); };
    client.on('error', end);
    up.on('error', end);
    client.on('close', end);
    up.on('close', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port, dropped: () => dropped, close: () => server.close() })));
}

// smsctl without blocking the event loop (the proxy above runs in this process).
function smsctlAsync(args, env) {
  return new Promise((resolve) => {
    const p = spawn(SMSCTL, args, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const CREDITS = 1000;

function send(srv, keys, key, body, extra = {}) {
  return srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys, body,
    headers: key === undefined ? {} : { 'Idempotency-Key': key }, ...extra });
}

function serviceId(srv, sn) {
  return srv.sql(`SELECT id FROM services WHERE name = '${sn}'`)[0].id;
}

function counts(srv, keys) {
  const sid = serviceId(srv, keys.serviceName);
  return {
    messages: srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE service_id = ${sid}`)[0].n,
    debits: srv.ledger(keys.serviceName).filter((e) => e.kind === 'debit').length,
  };
}

describe('Idempotency-Key', () => {
  let srv;
  let token;
  before(async () => {
    srv = await startServer({ args: ['--idempotency-ttl-s', '3'] });
    token = fs.readFileSync(`${srv.dataDir}/admin.token`, 'utf8').trim();
  });
  after(async () => { if (srv) await srv.finish(); });

  const admin = (method, path, body, key) => httpRequest({ port: srv.port, method,
    target: path, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
      ...(key ? { 'Idempotency-Key': key } : {}) } });

  test('the same key and body: the first answer again, byte for byte; one SMS, one debit', { timeout: 30000 }, async () => {
    const keys = srv.createAccount(uniq('idem-same'), CREDITS);
    const body = { message: 'once only', receivers: ['+33612345001', '0612', '+33612345002'],
      senderForResponse: true, noStopClause: true, tag: 'idem' };
    const first = await send(srv, keys, 'order-4711', body);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.ids.length, 2);
    assert.deepEqual(first.json.invalidReceivers, ['0612']);
    for (let i = 0; i < 3; i++) {
      const again = await send(srv, keys, 'order-4711', body);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.text, first.text, 'a replay differs from the first answer');
      assert.match(String(again.headers['content-type']), /^application\/json/);
    }
    // A quoted key (RFC 8941 string, as the draft writes it) is the same key.
    const quoted = await send(srv, keys, '"order-4711"', body);
    assert.equal(quoted.text, first.text);
    assert.deepEqual(counts(srv, keys), { messages: 2, debits: 1 });
    const ledger = srv.ledger(keys.serviceName);
    assert.equal(ledger.at(-1).balance, CREDITS - 2);
    // Both SMS reach the sim once.
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM sim_messages WHERE message_id IN (${first.json.ids.join(',')})`)[0].n === 2,
      { what: 'the two SMS at the sim' });
    const sim = srv.sql(`SELECT submits FROM sim_messages WHERE message_id IN (${first.json.ids.join(',')})`);
    assert.ok(sim.every((s) => s.submits === 1), JSON.stringify(sim));
    // The answer is the one stored with the send.
    const row = srv.sql("SELECT status, CAST(body AS TEXT) AS body FROM idempotency WHERE key = 'order-4711'")
      .map((r) => ({ ...r, body: sqlText(r.body) }));
    assert.deepEqual(row, [{ status: 200, body: first.text }]);
  });

  test('without the header every POST sends again (nothing changes)', async () => {
    const keys = srv.createAccount(uniq('idem-none'), CREDITS);
    const body = { message: 'twice', receivers: ['+33612345003'], senderForResponse: true };
    const a = await send(srv, keys, undefined, body);
    const b = await send(srv, keys, undefined, body);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.notDeepEqual(a.json.ids, b.json.ids);
    assert.deepEqual(counts(srv, keys), { messages: 2, debits: 2 });
  });

  test('the same key with another body, path or method: 422, nothing sent', async () => {
    const keys = srv.createAccount(uniq('idem-422'), CREDITS);
    const body = { message: 'first', receivers: ['+33612345004'], senderForResponse: true };
    const first = await send(srv, keys, 'k-422', body);
    assert.equal(first.status, 200, first.text);
    const other = await send(srv, keys, 'k-422', { ...body, message: 'second' });
    assertOvhError(other, 422, { message: /Idempotency-Key was already used/ });
    // The same JSON written differently is another body: the draft compares the payload.
    const spaced = await send(srv, keys, 'k-422', JSON.stringify(body, null, 1));
    assertOvhError(spaced, 422);
    const sender = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/senders`, keys,
      body: { sender: 'Acme', reason: 'test' }, headers: { 'Idempotency-Key': 'k-422' } });
    assertOvhError(sender, 422);
    assert.deepEqual(counts(srv, keys), { messages: 1, debits: 1 });
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM senders WHERE service_id = ${serviceId(srv, keys.serviceName)}`)[0].n, 0);
    // The first answer is still the one replayed.
    const again = await send(srv, keys, 'k-422', body);
    assert.equal(again.text, first.text);
  });

  test('malformed keys: 400 naming the header, nothing sent', async () => {
    const keys = srv.createAccount(uniq('idem-400'), CREDITS);
    const body = { message: 'bad key', receivers: ['+33612345005'], senderForResponse: true };
    for (const k of ['', '   ', '"', '""', 'a'.repeat(256), '"a\\b"', 'two words', 'caf\u00e9']) {
      const r = await send(srv, keys, k, body, k === 'caf\u00e9' ? { headers: { 'Idempotency-Key': Buffer.from(k).toString('latin1') } } : {});
      assertOvhError(r, 400, { message: /Idempotency-Key/ });
    }
    const longest = await send(srv, keys, 'a'.repeat(255), body);
    assert.equal(longest.status, 200, longest.text);
    assert.deepEqual(counts(srv, keys), { messages: 1, debits: 1 });
  });

  test('concurrent duplicates: one send; the others 409 or the same answer', { timeout: 30000 }, async () => {
    const keys = srv.createAccount(uniq('idem-race'), CREDITS);
    const body = { message: 'race', receivers: ['+33612345006'], senderForResponse: true };
    const all = await Promise.all(Array.from({ length: 12 }, () => send(srv, keys, 'race-1', body)));
    const ok = all.filter((r) => r.status === 200);
    const busy = all.filter((r) => r.status === 409);
    assert.equal(ok.length + busy.length, all.length, all.map((r) => `${r.status} ${r.text}`).join('\n'));
    assert.ok(ok.length >= 1);
    assert.ok(ok.every((r) => r.text === ok[0].text), 'two different answers for one key');
    for (const r of busy) assertOvhError(r, 409, { message: /still being processed/ });
    assert.deepEqual(counts(srv, keys), { messages: 1, debits: 1 });
    const retry = await send(srv, keys, 'race-1', body);
    assert.equal(retry.text, ok[0].text);
  });

  test('another tenant (or another consumer key) with the same key is independent', async () => {
    const a = srv.createAccount(uniq('idem-ta'), CREDITS);
    const b = srv.createAccount(uniq('idem-tb'), CREDITS);
    const body = { message: 'tenant', receivers: ['+33612345007'], senderForResponse: true };
    const ra = await send(srv, a, 'shared-key', body);
    const rb = await send(srv, b, 'shared-key', body);
    assert.equal(ra.status, 200, ra.text);
    assert.equal(rb.status, 200, rb.text);
    assert.notDeepEqual(ra.json.ids, rb.json.ids);
    assert.deepEqual(counts(srv, a), { messages: 1, debits: 1 });
    assert.deepEqual(counts(srv, b), { messages: 1, debits: 1 });
    // b cannot learn a's answer, nor collide with it with another body.
    const other = await send(srv, b, 'shared-key', { ...body, message: 'x' });
    assert.equal(other.status, 422);
    const mine = await send(srv, a, 'shared-key', body);
    assert.equal(mine.text, ra.text);
  });

  test('a failed request is not kept: fixed and retried with the same key, it is sent', async () => {
    const keys = srv.createAccount(uniq('idem-fail'), 1);
    const body = { message: 'x'.repeat(200), receivers: ['+33612345008'], senderForResponse: true };
    const poor = await send(srv, keys, 'after-topup', body);
    assertOvhError(poor, 402);
    const c = await admin('POST', `/admin/services/${keys.serviceName}/credits`, { credits: 10 });
    assert.equal(c.status, 200, c.text);
    const ok = await send(srv, keys, 'after-topup', body);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.ids.length, 1);
  });

  test('a key is forgotten after idempotency-ttl-s, and pruned', { timeout: 30000 }, async () => {
    const keys = srv.createAccount(uniq('idem-ttl'), CREDITS);
    const body = { message: 'ttl', receivers: ['+33612345009'], senderForResponse: true };
    const first = await send(srv, keys, 'short-lived', body);
    assert.equal(first.status, 200, first.text);
    assert.equal((await send(srv, keys, 'short-lived', body)).text, first.text);
    await sleep(3300);
    const later = await send(srv, keys, 'short-lived', body);
    assert.equal(later.status, 200, later.text);
    assert.notDeepEqual(later.json.ids, first.json.ids);
    assert.deepEqual(counts(srv, keys), { messages: 2, debits: 2 });
    // The pruning timer (every ttl seconds here) deletes rows older than the ttl.
    await waitFor(() => srv.sql("SELECT COUNT(*) AS n FROM idempotency WHERE key = 'order-4711'")[0].n === 0,
      { timeoutMs: 10000, what: 'old records pruned' });
  });

  test('other creating POSTs: senders, documents, receivers slots, orders, batches, admin accounts and credits', { timeout: 30000 }, async () => {
    const keys = srv.createAccount(uniq('idem-other'), CREDITS);
    const sn = keys.serviceName;
    const twice = async (req) => {
      const a = await srv.raw({ ...req, keys, headers: { 'Idempotency-Key': `k-${req.path}` } });
      const b = await srv.raw({ ...req, keys, headers: { 'Idempotency-Key': `k-${req.path}` } });
      assert.equal(a.status, 200, `${req.path}: ${a.text}`);
      assert.equal(b.text, a.text, `${req.path}: the replay differs`);
      return a;
    };
    await twice({ method: 'POST', path: `/sms/${sn}/senders`, body: { sender: 'IdemCo', reason: 'test' } });
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM senders WHERE sender = 'IdemCo'`)[0].n, 1);
    const doc = await twice({ method: 'POST', path: '/me/document', body: { name: 'list.csv' } });
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM documents WHERE name = 'list.csv'`)[0].n, 1);
    assert.ok(doc.json.id);
    // A receivers slot filled from that document: replayed instead of "slot exists".
    const csv = 'number;name\n+33612345030;Ann\n+33612345031;Bob\n';
    const up = await httpRequest({ port: srv.port, method: 'PUT', target: new URL(doc.json.putUrl).pathname,
      headers: { 'Content-Type': 'text/csv', 'Content-Length': Buffer.byteLength(csv) }, body: csv });
    assert.equal(up.status, 200, up.text);
    const slot = await twice({ method: 'POST', path: `/sms/${sn}/receivers`,
      body: { autoUpdate: false, description: 'idem', documentId: doc.json.id, slotId: 2 } });
    assert.equal(slot.json.records, 2);
    const again = await srv.raw({ method: 'POST', path: `/sms/${sn}/receivers`, keys,
      body: { autoUpdate: false, description: 'idem', documentId: doc.json.id, slotId: 2 } });
    assertOvhError(again, 409); // without the key: the slot exists
    const order = await twice({ method: 'POST', path: `/order/sms/${sn}/credits`, body: { quantity: 1000 } });
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM orders WHERE id = ${order.json.orderId}`)[0].n, 1);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM orders WHERE service_id = ${serviceId(srv, sn)}`)[0].n, 1);

    // A batch: sent and charged once; its answer (the batch as GET shows it right after the
    // send) replayed.
    const batch = await twice({ method: 'POST', path: `/sms/${sn}/batches`, body: { name: 'b',
      message: 'batch once', noStop: true, senderForResponse: true, to: ['+33612345020', '+33612345021', 'bad'] } });
    assert.match(batch.json.id, /^[0-9a-f-]{36}$/);
    assert.equal(batch.json.processedRecords, 3);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM campaigns WHERE service_id = ${serviceId(srv, sn)}`)[0].n, 1);
    assert.deepEqual(counts(srv, keys), { messages: 2, debits: 1 });
    const got = await srv.raw({ path: `/sms/${sn}/batches/${batch.json.id}`, keys });
    assert.equal(got.json.id, batch.json.id);
    assert.equal(got.json.createdAt, batch.json.createdAt);

    // Admin: an account created once; a credit applied once.
    const name = uniq('idem-acct');
    const a1 = await admin('POST', '/admin/accounts', { name, credits: 5 }, 'acct-1');
    const a2 = await admin('POST', '/admin/accounts', { name, credits: 5 }, 'acct-1');
    assert.equal(a1.status, 200, a1.text);
    assert.equal(a2.text, a1.text);
    const c1 = await admin('POST', `/admin/services/${sn}/credits`, { credits: 7 }, 'credit-1');
    const c2 = await admin('POST', `/admin/services/${sn}/credits`, { credits: 7 }, 'credit-1');
    assert.equal(c1.status, 200, c1.text);
    assert.equal(c2.text, c1.text);
    assert.equal(srv.ledger(sn).filter((e) => e.kind === 'adjustment' && e.amount === 7).length, 1);
  });
});

describe('smsctl send and Idempotency-Key', () => {
  let srv;
  after(async () => { if (srv) await srv.finish(); });

  test('smsctl send sets a random key by itself; --idempotency-key K sends once', { timeout: 30000 }, async () => {
    srv = await startServer();
    const keys = srv.createAccount(uniq('idem-ctl'), CREDITS);
    const env = { OVH_APPLICATION_KEY: keys.appKey, OVH_APPLICATION_SECRET: keys.appSecret,
      OVH_CONSUMER_KEY: keys.consumerKey };
    const sid = serviceId(srv, keys.serviceName);
    const args = ['send', '--service', keys.serviceName, '--to', '+33612345011', '--no-stop', 'hello'];
    const a = srv.smsctlOk(args, { env });
    const b = srv.smsctlOk(args, { env });
    assert.notEqual(a.stdout.match(/^ids: (\d+)/m)[1], b.stdout.match(/^ids: (\d+)/m)[1],
      'two invocations are two sends');
    const rows = srv.sql('SELECT key FROM idempotency');
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => /^smsctl-[0-9a-f]{32}$/.test(r.key)), JSON.stringify(rows));
    const k1 = srv.smsctlOk([...args.slice(0, -1), '--idempotency-key', 'nightly-42', 'hello'], { env });
    const k2 = srv.smsctlOk([...args.slice(0, -1), '--idempotency-key', 'nightly-42', 'hello'], { env });
    assert.equal(k2.stdout, k1.stdout);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE service_id = ${sid}`)[0].n, 3);
    const bad = srv.smsctl([...args.slice(0, -1), '--idempotency-key', 'two words', 'hello'], { env });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--idempotency-key/);
  });

  test('smsctl send whose answer is lost retries once with the same key: sent once', { timeout: 30000 }, async () => {
    const keys = srv.createAccount(uniq('idem-ctl-retry'), CREDITS);
    const sid = serviceId(srv, keys.serviceName);
    const proxy = await answerEatingProxy(srv.port);
    try {
      const r = await smsctlAsync(['send', '--service', keys.serviceName, '--to', '+33612345012',
        '--no-stop', 'lost answer'], { OVH_APPLICATION_KEY: keys.appKey,
        OVH_APPLICATION_SECRET: keys.appSecret, OVH_CONSUMER_KEY: keys.consumerKey,
        OVH_ENDPOINT: `http://127.0.0.1:${proxy.port}/1.0` });
      assert.equal(proxy.dropped(), 1, 'the proxy did not cut the first answer');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /retrying once with the same Idempotency-Key \(smsctl-[0-9a-f]{32}\)/);
      const id = Number(r.stdout.match(/^ids: (\d+)$/m)[1]);
      const rows = srv.sql(`SELECT id FROM messages WHERE service_id = ${sid}`);
      assert.deepEqual(rows, [{ id }], 'the retry sent again');
      assert.equal(srv.ledger(keys.serviceName).filter((e) => e.kind === 'debit').length, 1);
    } finally {
      proxy.close();
    }
  });
});

describe('Idempotency-Key across a restart', () => {
  let srv;
  after(async () => { if (srv) await srv.finish(); });

  test('a record made before a restart is replayed after it', { timeout: 30000 }, async () => {
    srv = await startServer();
    const keys = srv.createAccount(uniq('idem-restart'), CREDITS);
    const body = { message: 'restart', receivers: ['+33612345010'], senderForResponse: true };
    const first = await send(srv, keys, 'before-restart', body);
    assert.equal(first.status, 200, first.text);
    await srv.stop();
    await srv.restart();
    const again = await send(srv, keys, 'before-restart', body);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, first.text);
    assert.deepEqual(counts(srv, keys), { messages: 1, debits: 1 });
  });
});
