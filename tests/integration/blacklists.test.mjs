// blacklists.test.mjs - STOP opt-outs and blacklists (issue 14 point 3, docs/replies.md "STOP
// and blacklists"), end to end through the official SDK, a route to the test SMSC and a real
// HTTP receiver for the stopCallBack:
//   * a marketing SMS (with the STOP clause) goes out through SMPP; the mobile answers "Stop"
//     to 36184 (a deliver_sm from the SMSC): the number is in /blacklists with the SMS's id,
//     the stopCallBack is called exactly once with the documented parameters, signed; a second
//     STOP ("ARRÊT", UCS-2) changes nothing;
//   * the next marketing SMS to it comes back in invalidReceivers and costs nothing, one with
//     noStopClause: true is sent, other services are not affected;
//   * after DELETE /blacklists/{number}, marketing SMS reach it again;
//   * a batch counts a blacklisted receiver as stoplisted and lists it in its errors;
//   * smsctl blacklist list|add|remove, parameter errors, OVH's schema (sms.Blacklist and the
//     three operations) checked field by field;
//   * the same opt-out through the sim route alone (issue 14's Done-when): a receiver ending in
//     905 answers STOP, and everything above follows.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, sleep, startServer, waitFor, waitOutgoing } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';
import { checkModel, checkResponse, loadSchema, schemaMissing } from './lib/ovhschema.mjs';

const MOBILE = '+33655000001';
const OTHER = '+33655000002';

// An HTTP server recording every request (the customer's stopCallBack).
class Sink {
  constructor() { this.hits = []; }
  async start() {
    this.srv = http.createServer((req, res) => {
      const q = req.url.indexOf('?');
      this.hits.push({
        path: q < 0 ? req.url : req.url.slice(0, q),
        rawQuery: q < 0 ? '' : req.url.slice(q + 1),
        params: Object.fromEntries(new URL(req.url, 'http://x').searchParams),
        signature: req.headers['x-smsgate-signature'],
        method: req.method,
      });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }
  url(p) { return `http://127.0.0.1:${this.port}${p}`; }
  async close() {
    this.srv.closeAllConnections();
    await new Promise((r) => this.srv.close(r));
  }
}

describe('STOP and blacklists', () => {
  let srv, smsc, sink, client, sn, keys, other, otherSn;

  before(async () => {
    srv = await startServer();
    sink = await new Sink().start();
    smsc = await new Smsc({ systemId: 'stopnet' }).start();
    keys = srv.createAccount('stopper', 100);
    sn = keys.serviceName;
    client = srv.sdk(keys);
    const ok = srv.createAccount('other', 100);
    otherSn = ok.serviceName;
    other = srv.sdk(ok);
    srv.smsctlOk(['route', 'add', 'stopnet', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id',
      'stopnet', '--prefix', '+33655']);
    await waitFor(() => {
      const r = srv.smsctlOk(['route', 'status', '--json']).json.find((x) => x.name === 'stopnet');
      return r && r.up && smsc.boundReceivers('stopnet').length > 0;
    }, { what: 'the route to the test SMSC to be bound' });
    await client.requestPromised('PUT', `/sms/${sn}`, { stopCallBack: sink.url('/stop?customer=1') });
  });
  after(async () => {
    await srv?.finish();
    await smsc?.stop();
    await sink?.close();
  });

  async function send(c, service, receivers, extra = {}) {
    return c.requestPromised('POST', `/sms/${service}/jobs`, {
      message: 'Soldes -20% ce week-end', receivers, ...extra });
  }

  async function credits(c, service) {
    return (await c.requestPromised('GET', `/sms/${service}`)).creditsLeft;
  }

  // The SMS handed to the SMSC (its text ends with the STOP clause).
  async function submitted(id) {
    await waitFor(() => srv.sql(`SELECT sent_ms FROM messages WHERE id = ${id}`)[0]?.sent_ms,
      { what: `SMS ${id} to be submitted` });
  }

  let marketingId;

  test('a STOP answering a marketing SMS blacklists the number and calls the stopCallBack once', async () => {
    const first = await send(client, sn, [MOBILE]);
    assert.equal(first.ids.length, 1);
    marketingId = first.ids[0];
    await submitted(marketingId);
    assert.match(smsc.submits.at(-1).text, /STOP 36184$/);
    // The other service sends the same mobile a transactional SMS only: never blacklisted.
    const tx = await send(other, otherSn, [MOBILE], { noStopClause: true });
    await submitted(tx.ids[0]);

    assert.equal(await smsc.sendMO({ systemId: 'stopnet', from: MOBILE, to: '36184', text: 'Stop' }), 0);
    await waitFor(() => sink.hits.length >= 1, { what: 'the stopCallBack call', timeoutMs: 15000 });
    const hit = sink.hits[0];
    assert.equal(hit.method, 'GET');
    assert.equal(hit.path, '/stop');
    assert.equal(hit.params.customer, '1');
    assert.equal(hit.params.id, String(marketingId));
    assert.equal(hit.params.smsOutgoingID, String(marketingId));
    assert.equal(hit.params.sender, MOBILE);
    assert.equal(hit.params.number, MOBILE);
    assert.equal(hit.params.receiver, '36184');
    assert.equal(hit.params.message, 'Stop');
    assert.equal(hit.params.batchID, '');
    assert.match(hit.params.date, /^\d{10}$/);
    assert.ok(Math.abs(Number(hit.params.date) - Date.now() / 1000) < 60);
    assert.match(hit.params.incomingID, /^\d+$/);
    // Signed like a status callback, with the service's secret.
    const secret = srv.smsctlOk(['service', 'secret', sn]).stdout.trim();
    assert.equal(hit.signature,
      'sha256=' + crypto.createHmac('sha256', secret).update(hit.rawQuery).digest('hex'));

    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/blacklists`), [MOBILE]);
    const row = await client.requestPromised('GET', `/sms/${sn}/blacklists/${MOBILE}`);
    assert.equal(row.number, MOBILE);
    assert.equal(row.smsOutgoingID, marketingId);
    assert.equal(row.batchID, null);
    assert.ok(Math.abs(Date.parse(row.dateCreation) - Date.now()) < 60000);
    // The same number written nationally or with 00.
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/blacklists/0655000001`)).number, MOBILE);
    assert.deepEqual(await other.requestPromised('GET', `/sms/${otherSn}/blacklists`), []);
    // The STOP is stored as an incoming message too.
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM incoming WHERE sender = '${MOBILE}'`)[0].n, 1);

    // A second STOP, another spelling, UCS-2: nothing new, no second call.
    assert.equal(await smsc.sendMO({ systemId: 'stopnet', from: MOBILE, to: '36184', text: 'ARRÊT', ucs2: true }), 0);
    assert.equal(await smsc.sendMO({ systemId: 'stopnet', from: MOBILE, to: '36184', text: ' stop 36184 ' }), 0);
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM incoming WHERE sender = '${MOBILE}'`)[0].n === 3,
      { what: 'the two other STOPs to be stored' });
    await sleep(1500); // the time a second call would take to arrive
    assert.equal(sink.hits.length, 1);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM blacklists`)[0].n, 1);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM notify_calls WHERE kind = 'stop'`)[0].n, 1);
  });

  test('the next marketing SMS is refused for that number and costs nothing; noStopClause goes', async () => {
    const before = await credits(client, sn);
    const r = await send(client, sn, [MOBILE, OTHER]);
    assert.deepEqual(r.invalidReceivers, [MOBILE]);
    assert.deepEqual(r.validReceivers, [OTHER]);
    assert.equal(r.ids.length, 1);
    assert.equal(r.totalCreditsRemoved, 1);
    assert.equal(await credits(client, sn), before - 1);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM messages m JOIN services s ON s.id = m.service_id
      WHERE s.name = '${sn}' AND m.receiver = '${MOBILE}' AND m.id > ${marketingId}`)[0].n, 0);

    // Only the blacklisted number: 200, nothing stored nor charged.
    const alone = await send(client, sn, ['0655000001']);
    assert.deepEqual(alone.invalidReceivers, ['0655000001']); // as it was given
    assert.deepEqual(alone.ids, []);
    assert.equal(alone.totalCreditsRemoved, 0);
    assert.equal(await credits(client, sn), before - 1);

    // A transactional SMS (a code, a reminder) still goes.
    const tx = await send(client, sn, [MOBILE], { noStopClause: true });
    assert.deepEqual(tx.invalidReceivers, []);
    assert.deepEqual(tx.validReceivers, [MOBILE]);
    await submitted(tx.ids[0]);
    // Another service's marketing SMS is not affected by this service's blacklist.
    const o = await send(other, otherSn, [MOBILE]);
    assert.deepEqual(o.validReceivers, [MOBILE]);
  });

  test('after DELETE /blacklists/{number}, marketing SMS go again', async () => {
    assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/blacklists/${MOBILE}`), null);
    const gone = await srv.raw({ path: `/sms/${sn}/blacklists/${encodeURIComponent(MOBILE)}`, keys });
    assertOvhError(gone, 404);
    assert.match(gone.json.message, /not in the blacklist/);
    const again = await srv.raw({ method: 'DELETE', path: `/sms/${sn}/blacklists/${MOBILE}`, keys });
    assertOvhError(again, 404);
    const r = await send(client, sn, [MOBILE]);
    assert.deepEqual(r.validReceivers, [MOBILE]);
    assert.deepEqual(r.invalidReceivers, []);
    assert.equal(r.ids.length, 1);
  });

  test('a batch counts a blacklisted receiver as stoplisted', async () => {
    srv.smsctlOk(['blacklist', 'add', sn, '0655000003']);
    const before = await credits(client, sn);
    const b = await client.requestPromised('POST', `/sms/${sn}/batches`, {
      name: 'promo', message: 'Promo', from: undefined, senderForResponse: true,
      to: ['+33655000003', '+33655000004'] });
    const stats = await client.requestPromised('GET', `/sms/${sn}/batches/${b.id}/statistics`);
    assert.equal(stats.stoplisted, 1);
    const got = await client.requestPromised('GET', `/sms/${sn}/batches/${b.id}`);
    assert.equal(got.errors.length, 1);
    assert.equal(got.errors[0].receiver, '+33655000003');
    assert.match(got.errors[0].message, /STOP/);
    assert.equal(await credits(client, sn), before - 1);
    // A batch without the STOP clause goes to everyone.
    const nb = await client.requestPromised('POST', `/sms/${sn}/batches`, {
      name: 'code', message: 'Code 1234', noStop: true, senderForResponse: true,
      to: ['+33655000003'] });
    const ns = await client.requestPromised('GET', `/sms/${sn}/batches/${nb.id}/statistics`);
    assert.equal(ns.stoplisted, 0);
    // The STOP of a mobile that received an SMS of a batch names the batch.
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE receiver = '+33655000004' AND sent_ms IS NOT NULL`)[0].n === 1,
      { what: 'the batch SMS to be submitted' });
    assert.equal(await smsc.sendMO({ systemId: 'stopnet', from: '+33655000004', to: '36184', text: 'STOP' }), 0);
    await waitFor(() => sink.hits.length >= 2, { what: 'the second stopCallBack call', timeoutMs: 15000 });
    assert.equal(sink.hits[1].params.batchID, b.id);
    const row = await client.requestPromised('GET', `/sms/${sn}/blacklists/+33655000004`);
    assert.equal(row.batchID, b.id);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/blacklists`, { batchID: b.id }),
      ['+33655000004']);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/blacklists`,
      { smsOutgoingID: row.smsOutgoingID }), ['+33655000004']);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/blacklists`, { number: '0655000003' }),
      ['+33655000003']);
  });

  test('smsctl blacklist list|add|remove', async () => {
    const add = srv.smsctlOk(['blacklist', 'add', sn, '+33655000009']);
    assert.equal(add.stdout, 'added +33655000009\n');
    assert.equal(srv.smsctlOk(['blacklist', 'add', sn, '0655000009']).stdout,
      '+33655000009 was already blacklisted\n');
    const list = srv.smsctlOk(['blacklist', 'list', sn, '--json']).json;
    const mine = list.find((x) => x.number === '+33655000009');
    assert.equal(mine.source, 'operator');
    assert.equal(mine.smsOutgoingID, null);
    assert.equal(list.find((x) => x.number === '+33655000004').source, 'stop');
    const human = srv.smsctlOk(['blacklist', 'list', sn]).stdout;
    assert.match(human, /^NUMBER\s+SINCE\s+SMS\s+BATCH\s+SOURCE\n/);
    assert.match(human, /\+33655000009 .* operator\n/);
    assert.equal(srv.smsctlOk(['blacklist', 'remove', sn, '+33655000009']).stdout, 'removed +33655000009\n');
    const missing = srv.smsctl(['blacklist', 'remove', sn, '+33655000009']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /not in its blacklist/);
    const bad = srv.smsctl(['blacklist', 'add', sn, 'nope']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /not a phone number/);
    assert.equal(srv.smsctl(['blacklist', 'list', 'sms-nobody-1']).status, 1);
    assert.equal(srv.smsctl(['blacklist', 'add', sn]).status, 2);
  });

  test('parameter errors', async () => {
    for (const [query, field] of [[{ smsOutgoingID: 'x' }, 'smsOutgoingID'], [{ smsOutgoingID: '0' }, 'smsOutgoingID'],
      [{ batchID: '' }, 'batchID']]) {
      const res = await srv.raw({ path: `/sms/${sn}/blacklists`, query, keys });
      assertOvhError(res, 400);
      assert.match(res.json.message, new RegExp(field));
    }
    const foreign = await srv.raw({ path: `/sms/${otherSn}/blacklists`, keys });
    assert.ok(foreign.status === 403 || foreign.status === 404, `status ${foreign.status}`);
  });

  test('answers match OVH\'s schema (sms.Blacklist and its operations)', { skip: schemaMissing() }, async () => {
    const schema = loadSchema();
    const list = await client.requestPromised('GET', `/sms/${sn}/blacklists`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/blacklists', list);
    assert.ok(list.length >= 2);
    for (const n of list) {
      const row = await client.requestPromised('GET', `/sms/${sn}/blacklists/${n}`);
      checkModel(schema, 'sms.Blacklist', row);
      checkResponse(schema, 'GET', '/sms/{serviceName}/blacklists/{number}', row);
    }
    // Every field of the model, with a batch and without.
    const withBatch = await client.requestPromised('GET', `/sms/${sn}/blacklists/+33655000004`);
    assert.deepEqual(Object.keys(withBatch).sort(), Object.keys(schema.models['sms.Blacklist'].properties).sort());
    assert.equal(typeof withBatch.batchID, 'string');
    assert.equal(typeof withBatch.smsOutgoingID, 'number');
    checkResponse(schema, 'DELETE', '/sms/{serviceName}/blacklists/{number}',
      await client.requestPromised('DELETE', `/sms/${sn}/blacklists/+33655000003`));
    const stats = await client.requestPromised('GET', `/sms/${sn}/batches`);
    assert.ok(Array.isArray(stats));
  });
});

describe('STOP through the sim route (a receiver ending in 905 answers STOP)', () => {
  let srv, sink;
  before(async () => {
    srv = await startServer();
    sink = await new Sink().start();
  });
  after(async () => {
    await srv?.finish();
    await sink?.close();
  });

  test('blacklisted with the SMS\'s id, stopCallBack once, refused then sent again', { timeout: 60000 }, async () => {
    const keys = srv.createAccount('simstop', 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('PUT', `/sms/${sn}`, { stopCallBack: sink.url('/stop') });
    const to = '+33612340905';
    const [sent] = (await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Soldes -20% ce week-end', receivers: [to], senderForResponse: true })).ids;
    await waitOutgoing(client, sn, sent, (m) => m.deliveryReceipt === 1);
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/blacklists`)).length === 1,
      { what: 'the sim\'s STOP to blacklist the number', timeoutMs: 15000 });
    const ids = await client.requestPromised('GET', `/sms/${sn}/incoming`);
    assert.equal(ids.length, 1);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/incoming/${ids[0]}`)).message, 'STOP');
    const row = await client.requestPromised('GET', `/sms/${sn}/blacklists/${to}`);
    assert.equal(row.smsOutgoingID, sent);
    await waitFor(() => sink.hits.length >= 1, { what: 'the stopCallBack call', timeoutMs: 15000 });
    assert.equal(sink.hits[0].params.id, String(sent));
    assert.equal(sink.hits[0].params.sender, to);

    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const refused = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Encore une promo', receivers: [to], senderForResponse: true });
    assert.deepEqual(refused.invalidReceivers, [to]);
    assert.deepEqual(refused.ids, []);
    assert.equal(refused.totalCreditsRemoved, 0);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before);
    const code = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Votre code : 1234', receivers: [to], senderForResponse: true, noStopClause: true });
    assert.deepEqual(code.validReceivers, [to]);
    // The sim answers every SMS to a 905 number with STOP, the code too: a STOP while the number
    // is blacklisted already adds no row and makes no call. Wait for it before the DELETE, else
    // it may arrive after it and blacklist the number again (a reply STOP opts out of every
    // service that sent the mobile marketing SMS within the window: the first one above).
    await waitOutgoing(client, sn, code.ids[0], (m) => m.deliveryReceipt === 1);
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/incoming`)).length === 2,
      { what: 'the sim\'s STOP to the code', timeoutMs: 15000 });
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/blacklists`)).length, 1);
    assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/blacklists/${to}`), null);
    const again = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'La promo revient', receivers: [to], senderForResponse: true });
    assert.deepEqual(again.validReceivers, [to]);
    assert.equal(again.ids.length, 1);
    assert.equal(sink.hits.length, 1, 'the stopCallBack was called exactly once so far');
  });
});
