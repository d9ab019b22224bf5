// jobs.test.mjs - pending jobs (differedPeriod, cancel + refund), the sim route's outcomes,
// history (/outgoing) and its filters.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { SIM_DELAY_MS, assertOvhError, sdkError, sleep, startServer, waitFor, waitOutgoing }
  from './lib/harness.mjs';

const final = (m) => [1, 2, 16].includes(m.deliveryReceipt) && m.status !== 'enroute';

describe('jobs and outgoing', () => {
  let srv;
  // Germany at 2.5 credits per part, to check fractional credits end to end.
  before(async () => { srv = await startServer({ args: ['--rates', 'fr=1,de=2.5'] }); });
  after(async () => { await srv?.finish(); });

  describe('a differed job', () => {
    let keys, sn, client;
    before(() => {
      keys = srv.createAccount('differed', 10);
      sn = keys.serviceName;
      client = srv.sdk(keys);
    });

    test('is pending in /jobs, readable, and DELETE cancels it with a refund', async () => {
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'Later', noStopClause: true, senderForResponse: true, differedPeriod: 120,
        receivers: ['+33612349999'], tag: 'later',
      });
      assert.equal(rep.totalCreditsRemoved, 1);
      const id = rep.ids[0];
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 9);

      // Still pending well after the sim delay: it waits two hours.
      await sleep(SIM_DELAY_MS * 4);
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), [id]);
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`, { differedDelivery: 120 }), [id]);
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`, { differedDelivery: 5 }), []);
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`), [],
        'a pending SMS is not in /outgoing yet');
      const j = await client.requestPromised('GET', `/sms/${sn}/jobs/${id}`);
      assert.equal(j.id, id);
      assert.equal(j.receiver, '+33612349999');
      assert.equal(j.message, 'Later');
      assert.equal(j.differedDelivery, 120);
      assert.equal(j.deliveryReceipt, 0);
      assert.equal(j.sentAt, null);
      assert.equal(j.deliveredAt, null);
      assert.equal(j.credits, 1);
      assert.equal(j.numberOfSms, 1);
      assert.equal(j.messageLength, 5);
      // DELETE from history is not the way to cancel a pending SMS.
      const c = await sdkError(client.requestPromised('DELETE', `/sms/${sn}/outgoing/${id}`));
      assert.equal(c.error, 409);

      assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/jobs/${id}`), null);
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 10, 'refunded');
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);
      assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/jobs/${id}`))).error, 404);
      assert.equal((await sdkError(client.requestPromised('DELETE', `/sms/${sn}/jobs/${id}`))).error, 404,
        'a second cancel finds nothing to cancel');
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 10,
        'no second refund');

      const ledger = srv.ledger(sn);
      const last = ledger[ledger.length - 1];
      assert.equal(last.kind, 'refund');
      assert.equal(last.amount, 1);
      assert.equal(last.balance, 10);
      assert.equal(ledger.reduce((a, e) => a + e.amount, 0), 10);
    });

    test('bad ids: 404', async () => {
      for (const id of ['0', '-1', 'abc', '99999999']) {
        const e = await sdkError(client.requestPromised('GET', `/sms/${sn}/jobs/${id}`));
        assert.equal(e.error, 404, `jobs/${id}`);
        const o = await sdkError(client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`));
        assert.equal(o.error, 404, `outgoing/${id}`);
      }
    });
  });

  describe('the sim route', () => {
    let keys, sn, client;
    before(() => {
      keys = srv.createAccount('sim', 100);
      sn = keys.serviceName;
      client = srv.sdk(keys);
    });

    test('each test number reaches its documented receipt; 902 is refunded', async () => {
      const cases = [
        { to: '+33612345901', dlr: 2, ptt: 5, status: 'failed' },
        { to: '+33612345902', dlr: 16, ptt: 23, status: 'failed', refunded: true },
        { to: '+33612345903', dlr: 2, ptt: 8, status: 'failed' },
        { to: '+33612345904', dlr: 1, ptt: 4, status: 'delivered' },
        { to: '+33612345905', dlr: 1, ptt: 4, status: 'delivered' },
      ];
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'sim', noStopClause: true, senderForResponse: true, receivers: cases.map((c) => c.to),
      });
      assert.deepEqual(rep.validReceivers, cases.map((c) => c.to));
      assert.equal(rep.totalCreditsRemoved, 5);
      assert.equal(rep.creditsLeft, 95);

      const objs = await Promise.all(rep.ids.map((id, i) => waitOutgoing(client, sn, id,
        (m) => m.deliveryReceipt === cases[i].dlr && m.ptt === cases[i].ptt)));
      for (const [i, c] of cases.entries()) {
        const o = objs[i];
        assert.equal(o.receiver, c.to);
        assert.equal(o.deliveryReceipt, c.dlr, c.to);
        assert.equal(o.ptt, c.ptt, c.to);
        if (c.dlr === 1) assert.ok(o.deliveredAt, `${c.to} deliveredAt`);
        else assert.equal(o.deliveredAt, null, `${c.to} deliveredAt`);
        assert.ok(o.sentAt, `${c.to} sentAt`);
      }
      // Stable: nothing changes afterwards (final states are sticky).
      await sleep(SIM_DELAY_MS * 8);
      for (const [i, c] of cases.entries()) {
        const o = await client.requestPromised('GET', `/sms/${sn}/outgoing/${rep.ids[i]}`);
        assert.equal(o.deliveryReceipt, c.dlr, `${c.to} after a while`);
        assert.equal(o.ptt, c.ptt, `${c.to} after a while`);
      }
      // Only 902 ("error, not billed") is refunded.
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 96);
      const refunds = srv.ledger(sn).filter((e) => e.kind === 'refund');
      assert.deepEqual(refunds.map((e) => [e.amount, e.ref]), [[1, `message:${rep.ids[1]}`]]);

      // The history of each SMS in the store: accepted by the operator (8) first.
      for (const [i, c] of cases.entries()) {
        const ev = srv.sql(`SELECT dlr, ptt, ts_ms FROM events WHERE message_id = ${rep.ids[i]} ORDER BY id`);
        assert.ok(ev.some((e) => e.dlr === 8), `${c.to}: no 'buffered' (8) event in ${JSON.stringify(ev)}`);
        assert.deepEqual([ev.at(-1).dlr, ev.at(-1).ptt], [c.dlr, c.ptt]);
      }
      // 904 waits at the operator (4, ptt 3) for five delays before delivery.
      const ev904 = srv.sql(`SELECT dlr, ptt, ts_ms FROM events WHERE message_id = ${rep.ids[3]} ORDER BY id`);
      const enroute = ev904.find((e) => e.dlr === 4 && e.ptt === 3);
      assert.ok(enroute, `904 never was 'waiting at the operator': ${JSON.stringify(ev904)}`);
      const delivered = ev904.find((e) => e.dlr === 1);
      assert.ok(delivered.ts_ms - enroute.ts_ms >= 4 * SIM_DELAY_MS,
        `904 delivered ${delivered.ts_ms - enroute.ts_ms} ms after enroute, expected ~${5 * SIM_DELAY_MS}`);
      const sim = srv.sql(`SELECT message_id, submits, deliveries FROM sim_messages WHERE message_id IN (${rep.ids.join(',')}) ORDER BY message_id`);
      assert.deepEqual(sim.map((r) => [r.submits, r.deliveries]), [[1, 0], [1, 0], [1, 0], [1, 1], [1, 1]]);
    });

    test('904 is observable as waiting at the operator (4/3) through the API', async () => {
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'slow', noStopClause: true, senderForResponse: true, receivers: ['+33612300904'],
      });
      const id = rep.ids[0];
      const seen = new Set();
      await waitFor(async () => {
        const o = await client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`);
        seen.add(`${o.deliveryReceipt}/${o.ptt}`);
        return o.deliveryReceipt === 1;
      }, { intervalMs: 10, what: '904 delivered' });
      assert.ok(seen.has('4/3'), `states seen: ${[...seen].join(', ')}`);
      assert.ok(seen.has('1/4'));
    });

    test('a long message costs one credit per part', async () => {
      const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'y'.repeat(200), noStopClause: true, senderForResponse: true, receivers: ['+33612345906'],
      });
      assert.equal(rep.totalCreditsRemoved, 2);
      const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
      assert.equal(o.numberOfSms, 2);
      assert.equal(o.credits, 2);
      assert.equal(o.messageLength, 200);
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before - 2);
    });

    test('DELETE /outgoing/{id} removes a finished SMS from history', async () => {
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'forget me', noStopClause: true, senderForResponse: true, receivers: ['+33612345907'],
      });
      const id = rep.ids[0];
      await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
      assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/outgoing/${id}`), null);
      assert.ok(!(await client.requestPromised('GET', `/sms/${sn}/outgoing`)).includes(id));
      assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`))).error, 404);
    });
  });

  describe('pricing and parts', () => {
    let keys, sn, client;
    before(() => {
      keys = srv.createAccount('pricing', 10);
      sn = keys.serviceName;
      client = srv.sdk(keys);
    });
    const send = (body) => client.requestPromised('POST', `/sms/${sn}/jobs`,
      { senderForResponse: true, ...body });

    test('a destination rate (--rates de=2.5) is charged per part, fractions exact', async () => {
      let rep = await send({ message: 'x', receivers: ['+4915112345678'], noStopClause: true });
      assert.equal(rep.totalCreditsRemoved, 2.5);
      assert.equal(rep.creditsLeft, 7.5);
      rep = await send({ message: 'x', receivers: ['+4915112345679', '+33612345680'], noStopClause: true });
      assert.equal(rep.totalCreditsRemoved, 3.5);
      assert.equal(rep.creditsLeft, 4);
      const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
      assert.equal(o.credits, 2.5);
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 4);
      const ledger = srv.ledger(sn);
      assert.deepEqual(ledger.filter((e) => e.kind === 'debit').map((e) => e.amount), [-2.5, -3.5]);
      assert.equal(ledger.at(-1).balance, 4);
    });

    test('the STOP mention is appended and counted; UCS-2 parts are 67 characters', async () => {
      srv.smsctlOk(['service', 'credit', sn, '20']);
      // 155 + "\nSTOP 36184" = 166 GSM-7 characters: two parts.
      let rep = await send({ message: 'a'.repeat(155), receivers: ['+33612345681'] });
      assert.equal(rep.totalCreditsRemoved, 2);
      const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
      assert.equal(o.message, `${'a'.repeat(155)}\nSTOP 36184`);
      assert.equal(o.numberOfSms, 2);
      // With noStopClause the same text is one part.
      rep = await send({ message: 'a'.repeat(155), receivers: ['+33612345682'], noStopClause: true });
      assert.equal(rep.totalCreditsRemoved, 1);
      // 71 Cyrillic characters: UCS-2, two parts of at most 67.
      rep = await send({ message: 'Ж'.repeat(71), receivers: ['+33612345683'], noStopClause: true });
      assert.equal(rep.totalCreditsRemoved, 2);
      const u = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
      assert.equal(u.message, 'Ж'.repeat(71));
    });

    test('at most 6 parts: 918 GSM-7 characters pass, 919 are 400', async () => {
      srv.smsctlOk(['service', 'credit', sn, '20']);
      const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
      const rep = await send({ message: 'b'.repeat(918), receivers: ['+33612345684'], noStopClause: true });
      assert.equal(rep.totalCreditsRemoved, 6);
      const e = await sdkError(send({ message: 'b'.repeat(919), receivers: ['+33612345685'], noStopClause: true }));
      assert.equal(e.error, 400);
      assert.match(e.message, /message/);
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before - 6);
    });
  });

  describe('GET /outgoing filters', () => {
    let keys, sn, client, A, B, C, boundary;
    before(async () => {
      keys = srv.createAccount('filters', 100);
      sn = keys.serviceName;
      client = srv.sdk(keys);
      const send = (body) => client.requestPromised('POST', `/sms/${sn}/jobs`,
        { message: 'filter', noStopClause: true, senderForResponse: true, ...body });
      A = (await send({ tag: 'campA', receivers: ['+33612345001', '+33612345002'] })).ids;
      // A second boundary between the two batches (datetimes have second precision).
      await sleep(1100);
      boundary = new Date(Math.floor(Date.now() / 1000) * 1000);
      await sleep(20);
      B = (await send({ tag: 'camp B', receivers: ['+33612345003'] })).ids;
      C = (await send({ receivers: ['+33612345901'] })).ids;
      for (const id of [...A, ...B, ...C]) await waitOutgoing(client, sn, id, final);
    });

    const list = (q) => client.requestPromised('GET', `/sms/${sn}/outgoing`, q);

    test('tag', async () => {
      assert.deepEqual(await list({ tag: 'campA' }), A);
      assert.deepEqual(await list({ tag: 'camp B' }), B);
      assert.deepEqual(await list({ tag: 'nope' }), []);
      assert.deepEqual(await list(), [...A, ...B, ...C]);
      // A '+' in the raw query string is a space (python-ovh style).
      const r = await srv.raw({ target: `/1.0/sms/${sn}/outgoing?tag=camp+B`, keys });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, B);
    });

    test('receiver, in any accepted number form', async () => {
      assert.deepEqual(await list({ receiver: '+33612345003' }), B);
      assert.deepEqual(await list({ receiver: '0033612345003' }), B);
      assert.deepEqual(await list({ receiver: '+33612345001' }), [A[0]]);
      assert.deepEqual(await list({ receiver: '+33699999999' }), []);
      assert.deepEqual(await list({ receiver: '+33612345001', tag: 'campA' }), [A[0]]);
      assert.deepEqual(await list({ receiver: '+33612345001', tag: 'camp B' }), []);
    });

    test('deliveryReceipt and ptt', async () => {
      assert.deepEqual(await list({ deliveryReceipt: 1 }), [...A, ...B]);
      assert.deepEqual(await list({ deliveryReceipt: 2 }), C);
      assert.deepEqual(await list({ deliveryReceipt: 16 }), []);
      assert.deepEqual(await list({ ptt: 5 }), C);
      assert.deepEqual(await list({ ptt: 4, tag: 'campA' }), A);
      const e = await sdkError(list({ deliveryReceipt: 'x' }));
      assert.equal(e.error, 400);
      assert.match(e.message, /deliveryReceipt/);
    });

    test('creationDatetime.from / creationDatetime.to', async () => {
      const iso = boundary.toISOString().replace(/\.\d{3}Z$/, 'Z');
      // A bound given to the second covers that whole second: "to" the second before the
      // boundary ends just before it.
      const before = new Date(boundary.getTime() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      assert.deepEqual(await list({ 'creationDatetime.from': iso }), [...B, ...C]);
      assert.deepEqual(await list({ 'creationDatetime.to': before }), A);
      // The same instant with a +02:00 offset.
      const local = new Date(boundary.getTime() + 2 * 3600e3).toISOString()
        .replace(/\.\d{3}Z$/, '+02:00');
      assert.deepEqual(await list({ 'creationDatetime.from': local }), [...B, ...C]);
      assert.deepEqual(await list({ 'creationDatetime.from': local, 'creationDatetime.to': before }), []);
      const far = '2000-01-01T00:00:00+00:00';
      assert.deepEqual(await list({ 'creationDatetime.to': far }), []);
      assert.deepEqual(await list({ 'creationDatetime.from': far }), [...A, ...B, ...C]);
      // An unencoded '+' of the offset arrives as a space.
      const r = await srv.raw({ target: `/1.0/sms/${sn}/outgoing?creationDatetime.from=${local}`, keys });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, [...B, ...C]);
      const e = await sdkError(list({ 'creationDatetime.from': 'yesterday' }));
      assert.equal(e.error, 400);
      assert.match(e.message, /creationDatetime\.from/);
    });

    test('creationDatetime.from/to given an SMS\'s own creationDatetime include that SMS', async () => {
      // A client that reads creationDatetime (second precision) and uses it as a bound must get
      // the SMS back for both bounds: to=X is "created at or before X".
      const o = await client.requestPromised('GET', `/sms/${sn}/outgoing/${B[0]}`);
      const at = o.creationDatetime;
      assert.ok((await list({ 'creationDatetime.from': at })).includes(B[0]),
        `from=${at} excludes SMS ${B[0]} created at ${at}`);
      assert.ok((await list({ 'creationDatetime.to': at })).includes(B[0]),
        `to=${at} excludes SMS ${B[0]} whose creationDatetime is ${at}`);
      assert.ok((await list({ 'creationDatetime.from': at, 'creationDatetime.to': at })).includes(B[0]),
        `from=to=${at} excludes SMS ${B[0]} whose creationDatetime is ${at}`);
    });

    test('batchID / messageID filters answer an empty list', async () => {
      assert.deepEqual(await list({ batchID: '00000000-0000-0000-0000-000000000000' }), []);
    });

    test('bad filter values are 400 JSON errors', async () => {
      const r = await srv.raw({ path: `/sms/${sn}/outgoing`, query: { ptt: '-3' }, keys });
      assertOvhError(r, 400, { message: /ptt/ });
    });
  });
});
