// hlr.test.mjs - HLR lookups (docs/hlr.md, issue 15 point 5) through the official SDK:
//   * POST /sms/{sn}/hlr looks each distinct valid receiver (of receivers, or of the CSV at
//     receiversDocumentUrl) up once, answers
//     sms.SmsSendingReport, and charges 0.1 credit per lookup in one ledger row; invalid
//     receivers are listed and free;
//   * GET /hlr, /hlr/{id} (sms.HlrLookupNumber) and /hlr/{id}/operator (sms.Hlr) answer what
//     libphonenumber's offline data says (country, calling code, region or city, reachable
//     for mobiles; no operator: Debian 12's libphonenumber has no carrier data);
//   * with --hlr-sim-numbers the sim's test numbers answer as the sim delivers them (902
//     unknown, 903 absent, 904 roaming) and the sim is the operator;
//   * not enough credits: 402, nothing stored nor charged; another service's lookup is 404;
//   * a POST retried with its Idempotency-Key answers the same ids, charged once;
//   * GET /outgoing/{id}/hlr and its virtual-number and SMS-user variants: the SMS's receiver,
//     only the service's (and the number's, the user's) SMS;
//   * parameter errors; every answer checked against OVH's schema.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, sdkError, startServer, uniq, waitOutgoing } from './lib/harness.mjs';
import { checkModel, checkResponse, loadSchema } from './lib/ovhschema.mjs';

const schema = loadSchema();
const SCHEMA = {}; // answers checked against OVH's schema where it is (lib/ovhschema.mjs)

describe('HLR lookups', () => {
  let srv, keys, sn, client;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount(uniq('hlr'), 10);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  test('POST looks each valid number up once, charges 0.1 credit each; GET answers the data', SCHEMA, async () => {
    const rep = await client.requestPromised('POST', `/sms/${sn}/hlr`, {
      receivers: ['+33612345678', '0612345678', '+33491123456', '+14155552671', 'abc', '12'],
    });
    checkResponse(schema, 'POST', '/sms/{serviceName}/hlr', rep);
    assert.equal(rep.ids.length, 3);
    assert.deepEqual(rep.validReceivers, ['+33612345678', '+33491123456', '+14155552671']);
    assert.deepEqual(rep.invalidReceivers, ['abc', '12']);
    assert.equal(rep.totalCreditsRemoved, 0.3);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 9.7);
    const hlrRows = srv.ledger(sn).filter((l) => l.kind === 'hlr');
    assert.equal(hlrRows.length, 1, JSON.stringify(srv.ledger(sn)));
    assert.equal(hlrRows[0].amount, -0.3);

    const ids = await client.requestPromised('GET', `/sms/${sn}/hlr`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/hlr', ids);
    assert.deepEqual(ids, rep.ids);

    const [mobile, fixed, us] = await Promise.all(rep.ids.map((id) =>
      client.requestPromised('GET', `/sms/${sn}/hlr/${id}`)));
    for (const h of [mobile, fixed, us]) {
      checkResponse(schema, 'GET', '/sms/{serviceName}/hlr/{id}', h);
      checkModel(schema, 'sms.HlrLookupNumber', h);
      assert.equal(h.status, 'done');
      assert.equal(h.valid, true);
      assert.equal(h.ported, false);
      assert.equal(h.roaming, false);
      assert.equal(h.operatorCode, '');
      assert.ok(Math.abs(Date.parse(h.datetime) - Date.now()) < 60000, h.datetime);
    }
    assert.equal(mobile.id, rep.ids[0]);
    assert.equal(mobile.msisdn, '+33612345678');
    assert.equal(mobile.reachable, true); // a mobile
    assert.equal(fixed.msisdn, '+33491123456');
    assert.equal(fixed.reachable, false); // a fixed line: no SMS
    assert.equal(us.reachable, true); // US numbers may be either

    const ops = await Promise.all(rep.ids.map((id) =>
      client.requestPromised('GET', `/sms/${sn}/hlr/${id}/operator`)));
    for (const o of ops) {
      checkResponse(schema, 'GET', '/sms/{serviceName}/hlr/{id}/operator', o);
      checkModel(schema, 'sms.Hlr', o);
      assert.equal(o.operator, '');
      assert.equal(o.network, '');
    }
    assert.deepEqual(ops[0], { country: 'France', countryCode: '33', network: '', operator: '', region: 'France' });
    assert.deepEqual(ops[1], { country: 'France', countryCode: '33', network: '', operator: '', region: 'Marseille' });
    assert.deepEqual(ops[2], { country: 'United States', countryCode: '1', network: '', operator: '',
      region: 'San Francisco, CA' });

    const stored = srv.sql(`SELECT COUNT(*) AS n FROM hlr_lookups WHERE msisdn = '+33612345678'`);
    assert.equal(stored[0].n, 1);
  });

  test('no valid receiver: nothing stored, nothing charged', SCHEMA, async () => {
    const k = srv.createAccount(uniq('none'), 1);
    const c = srv.sdk(k);
    const rep = await c.requestPromised('POST', `/sms/${k.serviceName}/hlr`, { receivers: ['nope'] });
    checkResponse(schema, 'POST', '/sms/{serviceName}/hlr', rep);
    assert.deepEqual(rep, { ids: [], validReceivers: [], invalidReceivers: ['nope'],
      totalCreditsRemoved: 0, tag: '' });
    assert.deepEqual(await c.requestPromised('GET', `/sms/${k.serviceName}/hlr`), []);
    assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 1);
  });

  test('not enough credits: 402, nothing stored; exactly enough: every credit used', async () => {
    const k = srv.createAccount(uniq('poor'), 0.2);
    const c = srv.sdk(k);
    const e = await sdkError(c.requestPromised('POST', `/sms/${k.serviceName}/hlr`, {
      receivers: ['+33612340001', '+33612340002', '+33612340003'],
    }));
    assert.equal(e.error, 402, JSON.stringify(e));
    assert.deepEqual(await c.requestPromised('GET', `/sms/${k.serviceName}/hlr`), []);
    assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 0.2);
    const rep = await c.requestPromised('POST', `/sms/${k.serviceName}/hlr`, {
      receivers: ['+33612340001', '+33612340002'],
    });
    assert.equal(rep.ids.length, 2);
    assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 0);
  });

  test('Idempotency-Key: a retried POST answers the same ids and is charged once', async () => {
    const k = srv.createAccount(uniq('idem'), 1);
    const post = () => srv.raw({ method: 'POST', path: `/sms/${k.serviceName}/hlr`, keys: k,
      body: { receivers: ['+33612345678', '+33612345679'] }, headers: { 'Idempotency-Key': 'hlr-retry-1' } });
    const first = await post();
    assert.equal(first.status, 200, first.text);
    const again = await post();
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, first.text);
    assert.equal(first.json.ids.length, 2);
    const c = srv.sdk(k);
    assert.deepEqual(await c.requestPromised('GET', `/sms/${k.serviceName}/hlr`), first.json.ids);
    assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 0.8);
  });

  test('receiversDocumentUrl: the CSV numbers looked up, the list dropped', SCHEMA, async () => {
    const files = http.createServer((req, res) => {
      const body = {
        '/numbers.csv': 'number;name\n+33612345678;Ann\n0491123456;Ben\nabc;Bad\n0612345678;Ann again\n',
        '/many.csv': `number\n${Array.from({ length: 10001 }, (_, i) => `+3361${String(i).padStart(7, '0')}`).join('\n')}\n`,
      }[req.url];
      res.writeHead(body ? 200 : 404, { 'Content-Type': 'text/csv' });
      res.end(body || 'no such file');
    });
    await new Promise((r) => files.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${files.address().port}`;
    try {
      const k = srv.createAccount(uniq('doc'), 2);
      const c = srv.sdk(k);
      const rep = await c.requestPromised('POST', `/sms/${k.serviceName}/hlr`,
        { receiversDocumentUrl: `${base}/numbers.csv` });
      checkResponse(schema, 'POST', '/sms/{serviceName}/hlr', rep);
      assert.deepEqual(rep.validReceivers, ['+33612345678', '+33491123456']);
      assert.deepEqual(rep.invalidReceivers, ['abc']);
      assert.equal(rep.ids.length, 2);
      assert.equal(rep.totalCreditsRemoved, 0.2);
      const h = await c.requestPromised('GET', `/sms/${k.serviceName}/hlr/${rep.ids[1]}/operator`);
      assert.equal(h.region, 'Marseille');
      assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 1.8);
      const [svc] = srv.sql(`SELECT id FROM services WHERE name = '${k.serviceName}'`);
      assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM receiver_lists WHERE service_id = ${svc.id} `
        + 'AND state <> 2')[0].n, 0, 'the list is dropped (state 2) or already purged');

      let e = await sdkError(c.requestPromised('POST', `/sms/${k.serviceName}/hlr`,
        { receiversDocumentUrl: `${base}/many.csv` }));
      assert.equal(e.error, 400);
      assert.match(e.message, /10001 numbers, at most 10000/);
      e = await sdkError(c.requestPromised('POST', `/sms/${k.serviceName}/hlr`,
        { receiversDocumentUrl: `${base}/missing.csv` }));
      assert.equal(e.error, 400);
      assert.match(e.message, /'receiversDocumentUrl'/);
      assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 1.8);
    } finally {
      files.closeAllConnections();
      await new Promise((r) => files.close(r));
    }
  });

  test("another service's lookup is 404; bad ids are 404", async () => {
    const k = srv.createAccount(uniq('other'), 1);
    const c = srv.sdk(k);
    const [id] = await client.requestPromised('GET', `/sms/${sn}/hlr`);
    for (const p of [`/sms/${k.serviceName}/hlr/${id}`, `/sms/${k.serviceName}/hlr/${id}/operator`,
      `/sms/${sn}/hlr/99999999`, `/sms/${sn}/hlr/abc`]) {
      const e = await sdkError((p.includes(k.serviceName) ? c : client).requestPromised('GET', p));
      assert.equal(e.error, 404, p);
    }
    assert.deepEqual(await c.requestPromised('GET', `/sms/${k.serviceName}/hlr`), []);
  });

  test('parameter errors are 400 with a message naming the parameter', async () => {
    // (the SDK sends no body for an object without values: a hand-signed request)
    const res = await srv.raw({ method: 'POST', path: `/sms/${sn}/hlr`, keys, body: { receivers: null } });
    assertOvhError(res, 400, { message: /Missing parameter 'receivers'/ });
    const cases = [
      [{ receivers: [] }, /'receivers'/],
      [{ receivers: '+33612345678' }, /'receivers'/],
      [{ receivers: [33612345678] }, /'receivers': element 0/],
      [{ receivers: Array(1001).fill('+33612345678') }, /'receivers'/],
      [{ receiversDocumentUrl: 'nope' }, /'receiversDocumentUrl'/],
      [{ receiversDocumentUrl: 'https://example.com/x.csv', receivers: ['+33612345678'] }, /either/],
    ];
    for (const [body, re] of cases) {
      const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/hlr`, body));
      assert.equal(e.error, 400, JSON.stringify(body));
      assert.match(e.message, re);
    }
  });

  test('GET /outgoing/{id}/hlr: the SMS receiver, of this service only', SCHEMA, async () => {
    const job = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'hello', receivers: ['+33491123456'], noStopClause: true, senderForResponse: true,
    });
    const id = job.ids[0];
    await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const h = await client.requestPromised('GET', `/sms/${sn}/outgoing/${id}/hlr`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/outgoing/{id}/hlr', h);
    assert.deepEqual(h, { country: 'France', countryCode: '33', network: '', operator: '', region: 'Marseille' });
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before); // free

    const k = srv.createAccount(uniq('snoop'), 1);
    let e = await sdkError(srv.sdk(k).requestPromised('GET', `/sms/${k.serviceName}/outgoing/${id}/hlr`));
    assert.equal(e.error, 404);
    e = await sdkError(client.requestPromised('GET', `/sms/${sn}/outgoing/987654321/hlr`));
    assert.equal(e.error, 404);
  });

  test('GET /virtualNumbers/{number}/outgoing/{id}/hlr: only the SMS sent from that number', SCHEMA, async () => {
    const vn = '33700000077';
    srv.smsctlOk(['number', 'add', sn, `+${vn}`]);
    const base = `/sms/${sn}/virtualNumbers/${vn}`;
    const rep = await client.requestPromised('POST', `${base}/jobs`, {
      message: 'from the number', receivers: ['+14155552671'], noStopClause: true,
    });
    const id = rep.ids[0];
    const h = await client.requestPromised('GET', `${base}/outgoing/${id}/hlr`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/virtualNumbers/{number}/outgoing/{id}/hlr', h);
    assert.equal(h.country, 'United States');
    assert.equal(h.countryCode, '1');
    // an SMS of the service not sent from the number
    const other = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'plain', receivers: ['+33612345678'], noStopClause: true, senderForResponse: true,
    });
    const e = await sdkError(client.requestPromised('GET', `${base}/outgoing/${other.ids[0]}/hlr`));
    assert.equal(e.error, 404);
    // a number that is not the service's
    const e2 = await sdkError(client.requestPromised('GET', `/sms/${sn}/virtualNumbers/33700000078/outgoing/${id}/hlr`));
    assert.equal(e2.error, 404);
  });

  test("GET /users/{login}/outgoing/{id}/hlr: the user's SMS only", SCHEMA, async () => {
    await client.requestPromised('POST', `/sms/${sn}/users`, { login: 'hlruser1', password: 'hlr-user-pass-1' });
    await client.requestPromised('POST', `/sms/${sn}/users`, { login: 'hlruser2', password: 'hlr-user-pass-2' });
    const mine = await client.requestPromised('POST', `/sms/${sn}/users/hlruser1/jobs`, {
      message: 'as a user', receivers: ['+33491123456'], noStopClause: true,
    });
    const theirs = await client.requestPromised('POST', `/sms/${sn}/users/hlruser2/jobs`, {
      message: 'as another user', receivers: ['+33612345678'], noStopClause: true,
    });
    const service = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'as the service', receivers: ['+33612345678'], noStopClause: true, senderForResponse: true,
    });
    const h = await client.requestPromised('GET', `/sms/${sn}/users/hlruser1/outgoing/${mine.ids[0]}/hlr`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/users/{login}/outgoing/{id}/hlr', h);
    assert.equal(h.region, 'Marseille');
    for (const id of [theirs.ids[0], service.ids[0]]) {
      const e = await sdkError(client.requestPromised('GET', `/sms/${sn}/users/hlruser1/outgoing/${id}/hlr`));
      assert.equal(e.error, 404, String(id));
    }
    const e = await sdkError(client.requestPromised('GET', `/sms/${sn}/users/nosuchuser/outgoing/${mine.ids[0]}/hlr`));
    assert.equal(e.error, 404);
    // the service itself sees every SMS of its users
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/outgoing/${theirs.ids[0]}/hlr`)).country, 'France');
  });
});

describe('HLR lookups of the sim test numbers (--hlr-sim-numbers)', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--hlr-sim-numbers'] }); });
  after(async () => { await srv?.finish(); });

  test('902 is unknown, 901 and 903 unreachable, 904 roaming; the sim is every number\'s operator', SCHEMA, async () => {
    const k = srv.createAccount(uniq('sim'), 5);
    const c = srv.sdk(k);
    const sn = k.serviceName;
    const numbers = ['+33600000900', '+33600000901', '+33600000902', '+33600000903', '+33600000904',
      '+33491123456'];
    const rep = await c.requestPromised('POST', `/sms/${sn}/hlr`, { receivers: numbers });
    assert.equal(rep.ids.length, numbers.length);
    const got = await Promise.all(rep.ids.map((id) => c.requestPromised('GET', `/sms/${sn}/hlr/${id}`)));
    for (const h of got) {
      checkModel(schema, 'sms.HlrLookupNumber', h);
      assert.equal(h.operatorCode, '00101');
      assert.equal(h.status, 'done');
    }
    const pick = (h) => [h.msisdn, h.valid, h.reachable, h.roaming];
    assert.deepEqual(got.map(pick), [
      ['+33600000900', true, true, false],
      ['+33600000901', true, false, false],
      ['+33600000902', false, false, false],
      ['+33600000903', true, false, false],
      ['+33600000904', true, true, true],
      ['+33491123456', true, true, false], // the sim delivers to fixed lines too
    ]);
    const op = await c.requestPromised('GET', `/sms/${sn}/hlr/${rep.ids[2]}/operator`);
    checkModel(schema, 'sms.Hlr', op);
    assert.deepEqual(op, { country: 'France', countryCode: '33', network: 'smsgate sim',
      operator: 'smsgate sim', region: 'France' });
    assert.equal((await c.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 4.4);
  });
});

describe('HLR lookups switched off (--hlr-provider none)', () => {
  let srv;
  before(async () => {
    srv = await startServer({ args: ['--hlr-provider', 'none'] });
    srv.expectLog(/failed: 501 Not Implemented .*hlr-provider is none/);
  });
  after(async () => { await srv?.finish(); });

  test('POST /hlr and /outgoing/{id}/hlr answer 501; nothing charged', async () => {
    const k = srv.createAccount(uniq('off'), 1);
    const c = srv.sdk(k);
    const e = await sdkError(c.requestPromised('POST', `/sms/${k.serviceName}/hlr`, { receivers: ['+33612345678'] }));
    assert.equal(e.error, 501);
    assert.match(e.message, /hlr-provider/);
    assert.equal((await c.requestPromised('GET', `/sms/${k.serviceName}`)).creditsLeft, 1);
    assert.deepEqual(await c.requestPromised('GET', `/sms/${k.serviceName}/hlr`), []);
    const e2 = await sdkError(c.requestPromised('GET', `/sms/${k.serviceName}/outgoing/1/hlr`));
    assert.equal(e2.error, 501);
  });
});
