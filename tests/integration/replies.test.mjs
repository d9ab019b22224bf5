// replies.test.mjs - two-way SMS through the official Node SDK and the sim route (issue 14,
// docs/replies.md), the first bullet of its "Done when":
//   * an SMS to a number ending in 906: the sim's reply "Oui, merci" is in GET /incoming, and
//     smsResponse.cgiUrl (a real HTTP receiver on loopback) received it once, signed, with
//     every documented parameter;
//   * responseType "text": the reply is answered with an ordinary, priced SMS from the short
//     number; the sim answering that answer again is stored but not answered twice (no loop);
//   * an SMS with the STOP clause to a number ending in 905: the sim's "STOP" is in /incoming,
//     the number in /blacklists with the SMS's id, the stopCallBack called exactly once (a
//     second STOP changes nothing), no automatic answer to it; the next marketing SMS to it is
//     in invalidReceivers and costs nothing, a transactional one is sent; after
//     DELETE /blacklists/{number} marketing SMS go again;
//   * senderForResponse with a sender: the SMS leaves from the short number, so the reply
//     comes back;
//   * SIGKILL while the sim's replies come in: after the restart every receiver replied exactly
//     once (each reply is stored in the transaction of the sim's step), each with its cgi call.
// The harness passes --callback-allow-private (the receiver is on 127.0.0.1).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { sleep, startServer, uniq, waitFor, waitOutgoing } from './lib/harness.mjs';

// An HTTP server recording every request, answering 200.
class Receiver {
  constructor() { this.hits = []; }

  async start() {
    this.srv = http.createServer((req, res) => {
      const q = req.url.indexOf('?');
      this.hits.push({
        at: Date.now(),
        method: req.method,
        path: q < 0 ? req.url : req.url.slice(0, q),
        rawQuery: q < 0 ? '' : req.url.slice(q + 1),
        params: Object.fromEntries(new URL(req.url, 'http://x').searchParams),
        signature: req.headers['x-smsgate-signature'],
        callId: req.headers['x-smsgate-call'],
      });
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }

  url(path) { return `http://127.0.0.1:${this.port}${path}`; }
  on(path) { return this.hits.filter((h) => h.path === path); }

  async close() {
    this.srv.closeAllConnections();
    await new Promise((r) => this.srv.close(r));
  }
}

const sign = (secret, raw) => 'sha256=' + crypto.createHmac('sha256', secret).update(raw).digest('hex');

// A fresh receiver number ending in `end` (905, 906...), so tests never share a mobile.
let seq = 0;
function mobile(end) {
  seq += 1;
  return `+3361${String(process.pid % 100).padStart(2, '0')}${String(seq).padStart(2, '0')}${end}`;
}

async function incoming(client, sn) {
  const ids = await client.requestPromised('GET', `/sms/${sn}/incoming`);
  const rows = [];
  for (const id of ids) rows.push(await client.requestPromised('GET', `/sms/${sn}/incoming/${id}`));
  return rows;
}

describe('replies through the sim route', () => {
  let srv, rcv;

  before(async () => {
    srv = await startServer({ args: ['--callback-backoff-ms', '100'] });
    rcv = await new Receiver().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rcv?.close();
    }
  });

  test('906: the reply is in /incoming and at cgiUrl with every documented parameter', { timeout: 60000 }, async () => {
    const keys = srv.createAccount(uniq('cgi'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('PUT', `/sms/${sn}`, {
      smsResponse: { responseType: 'cgi', cgiUrl: rcv.url('/reply?k=v') },
    });
    const got = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(got.smsResponse.responseType, 'cgi');
    const to = mobile('906');
    const t0 = Math.floor(Date.now() / 1000);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'RDV demain 9h30 ?', receivers: [to], senderForResponse: true,
      noStopClause: true, tag: 'rdv 9:30',
    });
    const [sent] = rep.ids;
    await waitOutgoing(client, sn, sent, (m) => m.deliveryReceipt === 1);
    await waitFor(() => rcv.on('/reply').length >= 1, { what: 'the cgi call', timeoutMs: 15000 });
    await sleep(500); // nothing more comes
    const t1 = Math.ceil(Date.now() / 1000);
    const rows = await incoming(client, sn);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    const [inc] = rows;
    assert.equal(inc.message, 'Oui, merci');
    assert.equal(inc.sender, to);

    const hits = rcv.on('/reply');
    assert.equal(hits.length, 1, 'one call, no duplicate');
    const [h] = hits;
    assert.equal(h.method, 'GET');
    assert.ok(h.rawQuery.startsWith('k=v&id='), 'the URL\'s own query is kept: ' + h.rawQuery);
    assert.deepEqual(Object.keys(h.params),
      ['k', 'id', 'keyword', 'message', 'senderid', 'shortcode', 'tag', 'date', 'sender',
        'receiver', 'smsOutgoingID']);
    assert.equal(h.params.id, String(inc.id));
    assert.equal(h.params.keyword, 'OUI');
    assert.equal(h.params.message, 'Oui, merci');
    assert.equal(h.params.senderid, to);
    assert.ok(h.rawQuery.includes('senderid=%2B33'), 'a + is encoded: ' + h.rawQuery);
    assert.equal(h.params.shortcode, '36184');
    assert.equal(h.params.tag, 'rdv 9:30');
    const date = Number(h.params.date);
    assert.ok(date >= t0 - 1 && date <= t1, `date ${h.params.date} outside ${t0}..${t1}`);
    assert.equal(h.params.sender, to);
    assert.equal(h.params.receiver, '36184');
    assert.equal(h.params.smsOutgoingID, String(sent));
    const secret = srv.smsctlOk(['service', 'secret', sn]).stdout.trim();
    assert.equal(h.signature, sign(secret, h.rawQuery));
    assert.match(h.callId, /^\d+$/);
    const calls = srv.smsctlOk(['callbacks', 'list', sn, '--state', 'delivered', '--json']).json;
    assert.equal(calls.filter((c) => c.kind === 'reply').length, 1);
  });

  test('text: the reply is answered once with a priced SMS, never an answer to an answer', { timeout: 60000 }, async () => {
    const keys = srv.createAccount(uniq('txt'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('PUT', `/sms/${sn}`, {
      smsResponse: { responseType: 'text', text: 'Merci, à demain.' },
    });
    const to = mobile('906');
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const [sent] = (await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'RDV demain 9h30 ?', receivers: [to], senderForResponse: true, noStopClause: true,
    })).ids;
    // the reply, the answer to it (delivered), the sim's reply to that answer
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/incoming`)).length >= 2,
      { what: 'two replies', timeoutMs: 20000 });
    await sleep(1000); // no third SMS, no third reply
    const out = await client.requestPromised('GET', `/sms/${sn}/outgoing`);
    assert.equal(out.length, 2, `the SMS and one answer: ${JSON.stringify(out)}`);
    const answerId = out.find((id) => id !== sent);
    const ans = await waitOutgoing(client, sn, answerId, (m) => m.deliveryReceipt === 1);
    assert.equal(ans.message, 'Merci, à demain.');
    assert.equal(ans.receiver, to);
    assert.equal(ans.sender, '36184');
    const rows = await incoming(client, sn);
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.message === 'Oui, merci' && r.sender === to));
    const after = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    assert.equal(Math.round((before - after) * 1000), 2000, 'the SMS and the answer, 1 credit each');
  });

  test('905: the STOP in /incoming and /blacklists, stopCallBack once, refused then allowed again', { timeout: 90000 }, async () => {
    const keys = srv.createAccount(uniq('stop'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const credits = async () => (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    await client.requestPromised('PUT', `/sms/${sn}`, {
      stopCallBack: rcv.url('/stop905'),
      smsResponse: { responseType: 'text', text: 'Bien reçu' }, // never sent to a STOP
    });
    const to = mobile('905');
    const [sent] = (await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Soldes -20% ce week-end', receivers: [to], senderForResponse: true,
    })).ids;
    const msg = await waitOutgoing(client, sn, sent, (m) => m.deliveryReceipt === 1);
    assert.match(msg.message, /STOP 36184$/);
    // the STOP in /incoming
    const rows = await waitFor(async () => {
      const r = await incoming(client, sn);
      return r.length >= 1 && r;
    }, { what: 'the STOP', timeoutMs: 15000 });
    assert.equal(rows.length, 1);
    assert.equal(rows[0].message, 'STOP');
    assert.equal(rows[0].sender, to);
    // the number in /blacklists with the SMS's id
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/blacklists`)).length === 1,
      { what: 'the blacklist row' });
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/blacklists`), [to]);
    const row = await client.requestPromised('GET', `/sms/${sn}/blacklists/${encodeURIComponent(to)}`);
    assert.equal(row.number, to);
    assert.equal(row.smsOutgoingID, sent);
    // stopCallBack called
    await waitFor(() => rcv.on('/stop905').length >= 1, { what: 'the stopCallBack call', timeoutMs: 15000 });
    const [hit] = rcv.on('/stop905');
    assert.equal(hit.params.smsOutgoingID, String(sent));
    assert.equal(hit.params.number, to);

    // the next marketing SMS: invalidReceivers, costs nothing
    const before = await credits();
    const refused = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Soldes -30%', receivers: [to], senderForResponse: true,
    });
    assert.deepEqual(refused.invalidReceivers, [to]);
    assert.deepEqual(refused.ids, []);
    assert.equal(refused.totalCreditsRemoved, 0);
    assert.equal(await credits(), before);
    // a transactional one goes (and the sim's mobile answers it STOP again: nothing new)
    const tx = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Votre code : 1234', receivers: [to], senderForResponse: true, noStopClause: true,
    });
    assert.deepEqual(tx.validReceivers, [to]);
    await waitOutgoing(client, sn, tx.ids[0], (m) => m.deliveryReceipt === 1);
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/incoming`)).length === 2,
      { what: 'the second STOP', timeoutMs: 15000 });
    await sleep(1000); // the time a second call would take
    assert.equal(rcv.on('/stop905').length, 1, 'stopCallBack called exactly once');
    // no automatic answer to a STOP: only the two SMS sent above
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/outgoing`)).length, 2);

    // after DELETE /blacklists/{number}, marketing SMS go again
    assert.equal(await client.requestPromised('DELETE',
      `/sms/${sn}/blacklists/${encodeURIComponent(to)}`), null);
    const again = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Soldes -40%', receivers: [to], senderForResponse: true,
    });
    assert.deepEqual(again.validReceivers, [to]);
    assert.deepEqual(again.invalidReceivers, []);
    assert.equal(again.ids.length, 1);
    await waitOutgoing(client, sn, again.ids[0], (m) => m.deliveryReceipt === 1);
  });

  test('senderForResponse with a sender: from the short number, so the reply comes back', { timeout: 60000 }, async () => {
    const keys = srv.createAccount(uniq('sfr'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender: 'MyShop', reason: 'test' });
    srv.smsctlOk(['sender', 'approve', sn, 'MyShop']);
    const to = mobile('906');
    const [sent] = (await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Votre colis', receivers: [to], sender: 'MyShop', senderForResponse: true,
      noStopClause: true,
    })).ids;
    const msg = await waitOutgoing(client, sn, sent, (m) => m.deliveryReceipt === 1);
    assert.equal(msg.sender, '36184');
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/incoming`)).length === 1,
      { what: 'the reply', timeoutMs: 15000 });
    // from the alphanumeric sender, no reply can come
    const to2 = mobile('906');
    const [sent2] = (await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Votre colis', receivers: [to2], sender: 'MyShop', noStopClause: true,
    })).ids;
    assert.equal((await waitOutgoing(client, sn, sent2, (m) => m.deliveryReceipt === 1)).sender,
      'MyShop');
    await sleep(500);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/incoming`)).length, 1);
  });
});

describe('the sim\'s replies across a crash', () => {
  let srv, rcv;

  before(async () => {
    srv = await startServer({ args: ['--sim-delay-ms', '200', '--callback-backoff-ms', '100'] });
    rcv = await new Receiver().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rcv?.close();
    }
  });

  test('SIGKILL while replies come in: after the restart every receiver replied exactly once', { timeout: 90000 }, async () => {
    const keys = srv.createAccount(uniq('crash'), 100);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('PUT', `/sms/${sn}`, {
      smsResponse: { responseType: 'cgi', cgiUrl: rcv.url('/crash') },
    });
    const count = async () => srv.sql('SELECT COUNT(*) AS n FROM incoming')[0].n;
    const mobiles = [];
    for (let i = 0; i < 30; i++) {
      const to = mobile('906');
      mobiles.push(to);
      await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: `RDV ${i}`, receivers: [to], senderForResponse: true, noStopClause: true,
      });
      await sleep(40); // replies spread over more than a second
    }
    await waitFor(async () => (await count()) >= 3, { what: 'the first replies', timeoutMs: 15000 });
    await srv.kill9();
    const before = await count();
    await srv.restart();
    await waitFor(async () => (await count()) >= mobiles.length,
      { what: 'every reply after the restart', timeoutMs: 30000 });
    await sleep(800); // a duplicate would show by now
    const rows = srv.sql('SELECT sender, COUNT(*) AS n FROM incoming GROUP BY sender ORDER BY sender');
    assert.deepEqual(rows.map((r) => r.sender), [...mobiles].sort());
    assert.ok(rows.every((r) => r.n === 1), JSON.stringify(rows));
    assert.ok(before < mobiles.length, `the crash came before the last reply (${before} stored)`);
    // one cgi call per reply, each made (at least once: docs/callbacks.md)
    await waitFor(() => new Set(rcv.on('/crash').map((h) => h.params.senderid)).size === mobiles.length,
      { what: 'a cgi call for every reply', timeoutMs: 15000 });
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM notify_calls WHERE kind = 'reply'`)[0].n,
      mobiles.length);
  });
});
