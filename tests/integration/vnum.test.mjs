// vnum.test.mjs - virtual numbers (issue 14 point 5, docs/replies.md "Virtual numbers"):
//   - `smsctl number add|list|remove|response`: a number belongs to one service at most,
//     numbers that are not phone numbers or not of a country with virtual numbers are refused
//     with a clear message, unknown services and numbers too;
//   - the customer's API through the official SDK, every answer checked against OVH's schema
//     (lib/ovhschema.mjs): /sms/virtualNumbers[/{number}[/serviceInfos]],
//     /sms/{sn}/virtualNumbers[/{number}], chatAccess (404 / 403: no web chat here);
//   - sending from a virtual number through /sms/{sn}/virtualNumbers/{number}/jobs, its jobs
//     and outgoing (list, one, DELETE): sent with the number as sender, only its own SMS seen
//     there, another service's number or SMS 404, nothing charged for a refused send;
//   - another account never sees a number; a change made through one node is seen by another
//     node on the same database at once (nothing is cached).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { DB_KIND, SIM_DELAY_MS, Server, sdkError, sleep, startServer, waitFor, waitOutgoing }
  from './lib/harness.mjs';
import { checkModel, checkResponse, loadSchema } from './lib/ovhschema.mjs';

const schema = loadSchema();
const SCHEMA = {}; // answers checked against OVH's schema where it is (lib/ovhschema.mjs)
const delivered = (m) => m.deliveryReceipt === 1;

describe('virtual numbers', () => {
  let srv, acme, bob, ca, cb;
  before(async () => {
    srv = await startServer({ args: ['--node', 'vn1'] });
    acme = srv.createAccount('vnacme', 20);
    bob = srv.createAccount('vnbob', 20);
    ca = srv.sdk(acme);
    cb = srv.sdk(bob);
  });
  after(async () => { await srv?.finish(); });

  describe('smsctl number', () => {
    test('add, list, remove; one service per number', () => {
      let r = srv.smsctlOk(['number', 'add', acme.serviceName, '+33700000001']);
      assert.equal(r.stdout, `added +33700000001 to ${acme.serviceName}\n`);
      // Another form of the same number, to the same service: nothing changes.
      r = srv.smsctlOk(['number', 'add', acme.serviceName, '0033 7 00 00 00 01']);
      assert.equal(r.stdout, `+33700000001 already belongs to ${acme.serviceName}\n`);
      // To another service: refused, naming the owner.
      r = srv.smsctl(['number', 'add', bob.serviceName, '+33700000001']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`\\+33700000001 already belongs to the service '${acme.serviceName}'`));
      srv.smsctlOk(['number', 'add', bob.serviceName, '+41791234567']);
      srv.smsctlOk(['number', 'add', acme.serviceName, '+33700000002']);

      r = srv.smsctlOk(['number', 'list']);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0], /^NUMBER\s+SERVICE\s+COUNTRY\s+CREATED\s+RESPONSE$/);
      assert.equal(lines.length, 4);
      assert.match(lines[1], new RegExp(`^\\+33700000001\\s+${acme.serviceName}\\s+fr\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+-$`));
      assert.match(lines[3], new RegExp(`^\\+41791234567\\s+${bob.serviceName}\\s+ch\\s`));
      const j = srv.smsctlOk(['number', 'list', bob.serviceName, '--json']).json;
      assert.equal(j.length, 1);
      assert.equal(j[0].number, '+41791234567');
      assert.equal(j[0].service, bob.serviceName);
      assert.equal(j[0].countryCode, 'ch');
      assert.equal(j[0].smsResponse, null);
      const rows = srv.sql("SELECT number, service_id, sms_response FROM virtual_numbers ORDER BY number");
      assert.deepEqual(rows.map((x) => x.number), ['+33700000001', '+33700000002', '+41791234567']);

      r = srv.smsctlOk(['number', 'remove', '+33700000002']);
      assert.equal(r.stdout, `removed +33700000002 from ${acme.serviceName}\n`);
      assert.equal(srv.sql("SELECT COUNT(*) AS n FROM virtual_numbers WHERE number = '+33700000002'")[0].n, 0);
      r = srv.smsctl(['number', 'remove', '+33700000002']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /\+33700000002 is not a virtual number/);
    });

    test('bad numbers, unknown services and usage errors', () => {
      const cases = [
        [['number', 'add', acme.serviceName, 'abc'], /'abc' is not a valid phone number/],
        [['number', 'add', acme.serviceName, '+336'], /is not a valid phone number/],
        [['number', 'add', acme.serviceName, '+12025550123'],
          /\+12025550123 is not a number of a country with virtual numbers \(be, ch, de, es, fr, uk\)/],
        [['number', 'add', 'sms-nobody-1', '+33700000009'], /The service 'sms-nobody-1' does not exist/],
        [['number', 'list', 'sms-nobody-1'], /The service 'sms-nobody-1' does not exist/],
        [['number', 'remove', 'abc'], /does not exist/],
      ];
      for (const [args, re] of cases) {
        const r = srv.smsctl(args);
        assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, re, args.join(' '));
      }
      assert.equal(srv.sql("SELECT COUNT(*) AS n FROM virtual_numbers WHERE number = '+33700000009'")[0].n, 0);
      for (const args of [['number', 'add', acme.serviceName], ['number', 'list', 'a', 'b'],
        ['number', 'remove'], ['number'], ['number', 'frob']]) {
        const r = srv.smsctl(args);
        assert.equal(r.status, 2, args.join(' '));
        assert.match(r.stderr, /usage: smsctl number add SERVICE NUMBER/);
      }
    });

    test('response: the smsResponse of replies sent to a number', () => {
      let r = srv.smsctlOk(['number', 'response', '+41791234567',
        '{"responseType":"cgi","cgiUrl":"https://example.com/mo"}']);
      assert.match(r.stdout, /^\+41791234567: smsResponse \{.*"responseType":"cgi".*\}\n$/);
      const stored = JSON.parse(srv.sql("SELECT sms_response FROM virtual_numbers WHERE number = '+41791234567'")[0].sms_response);
      assert.equal(stored.responseType, 'cgi');
      assert.equal(stored.cgiUrl, 'https://example.com/mo');
      // Partial: merged over the current one.
      srv.smsctlOk(['number', 'response', '+41791234567', '{"text":"Merci"}']);
      const j = srv.smsctlOk(['number', 'list', bob.serviceName, '--json']).json[0];
      assert.equal(j.smsResponse.responseType, 'cgi');
      assert.equal(j.smsResponse.text, 'Merci');
      // Refused: not an object, a bad type, a bad URL.
      r = srv.smsctl(['number', 'response', '+41791234567', '[1]']);
      assert.equal(r.status, 2);
      for (const [body, re] of [['{"responseType":"mail"}', /smsResponse.responseType/],
        ['{"cgiUrl":"ftp://x"}', /smsResponse.cgiUrl/], ['{"colour":"red"}', /unknown key 'colour'/]]) {
        r = srv.smsctl(['number', 'response', '+41791234567', body]);
        assert.equal(r.status, 1, body);
        assert.match(r.stderr, re);
      }
      assert.equal(srv.smsctl(['number', 'response', '+33799999999', '{}']).status, 1);
      r = srv.smsctlOk(['number', 'response', '+41791234567', 'default']);
      assert.equal(r.stdout, `+41791234567: smsResponse of the service ${bob.serviceName}\n`);
      assert.equal(srv.sql("SELECT sms_response FROM virtual_numbers WHERE number = '+41791234567'")[0].sms_response, null);
    });
  });

  describe('the customer API', () => {
    before(() => {
      srv.smsctlOk(['number', 'add', acme.serviceName, '+33700000001']);
      srv.smsctlOk(['number', 'add', acme.serviceName, '+32470123456']);
      srv.smsctlOk(['number', 'add', bob.serviceName, '+41791234567']);
    });

    test('lists: only the account\'s and the service\'s numbers, in OVH\'s form', SCHEMA, async () => {
      const mine = await ca.requestPromised('GET', '/sms/virtualNumbers');
      checkResponse(schema, 'GET', '/sms/virtualNumbers', mine);
      assert.deepEqual(mine, ['32470123456', '33700000001']);
      assert.deepEqual(await cb.requestPromised('GET', '/sms/virtualNumbers'), ['41791234567']);
      const svc = await ca.requestPromised('GET', `/sms/${acme.serviceName}/virtualNumbers`);
      checkResponse(schema, 'GET', '/sms/{serviceName}/virtualNumbers', svc);
      assert.deepEqual(svc, ['32470123456', '33700000001']);
      // Another account's service: 404, as for every resource of it.
      const e = await sdkError(cb.requestPromised('GET', `/sms/${acme.serviceName}/virtualNumbers`));
      assert.equal(e.error, 404);
    });

    test('one number: sms.VirtualNumber, its generic service and serviceInfos', SCHEMA, async () => {
      for (const form of ['33700000001', '+33700000001', '0033700000001']) {
        const v = await ca.requestPromised('GET', `/sms/${acme.serviceName}/virtualNumbers/${encodeURIComponent(form)}`);
        checkModel(schema, 'sms.VirtualNumber', v);
        assert.deepEqual(v, { number: '33700000001', countryCode: 'fr' });
      }
      const g = await ca.requestPromised('GET', '/sms/virtualNumbers/32470123456');
      checkResponse(schema, 'GET', '/sms/virtualNumbers/{number}', g);
      assert.deepEqual(g, { number: '32470123456', countryCode: 'be', iam: null });
      const info = await ca.requestPromised('GET', '/sms/virtualNumbers/33700000001/serviceInfos');
      checkResponse(schema, 'GET', '/sms/virtualNumbers/{number}/serviceInfos', info);
      assert.equal(info.domain, '33700000001');
      assert.equal(info.status, 'ok');
      assert.equal(info.contactAdmin, 'vnacme');
      assert.equal(info.creation, new Date().toISOString().slice(0, 10));
      assert.ok(info.expiration > info.creation);
      const put = await sdkError(ca.requestPromised('PUT', '/sms/virtualNumbers/33700000001/serviceInfos',
        { renew: { automatic: false } }));
      assert.equal(put.error, 403);
      assert.match(put.message, /managed by the operator/);
    });

    test('another account\'s or service\'s number, or no number at all: 404', async () => {
      const paths = [
        [cb, '/sms/virtualNumbers/33700000001'],
        [cb, '/sms/virtualNumbers/33700000001/serviceInfos'],
        [ca, '/sms/virtualNumbers/41791234567'],
        [ca, '/sms/virtualNumbers/33799999999'],
        [ca, '/sms/virtualNumbers/not-a-number'],
        [ca, `/sms/${acme.serviceName}/virtualNumbers/41791234567`],
        [ca, `/sms/${acme.serviceName}/virtualNumbers/12025550123`],
        [ca, `/sms/${acme.serviceName}/virtualNumbers/abc`],
        [ca, `/sms/${acme.serviceName}/virtualNumbers/41791234567/jobs`],
        [ca, `/sms/${acme.serviceName}/virtualNumbers/41791234567/outgoing`],
        [ca, `/sms/${acme.serviceName}/virtualNumbers/41791234567/chatAccess`],
      ];
      for (const [client, p] of paths) {
        const e = await sdkError(client.requestPromised('GET', p));
        assert.equal(e.error, 404, p);
        assert.match(e.message, /does not exist/, p);
      }
    });

    test('chatAccess: none here (GET and DELETE 404, POST 403)', async () => {
      const base = `/sms/${acme.serviceName}/virtualNumbers/33700000001/chatAccess`;
      let e = await sdkError(ca.requestPromised('GET', base));
      assert.equal(e.error, 404);
      assert.equal(e.message, 'The requested object (chatAccess of 33700000001) does not exist');
      e = await sdkError(ca.requestPromised('DELETE', base));
      assert.equal(e.error, 404);
      e = await sdkError(ca.requestPromised('POST', base));
      assert.equal(e.error, 403);
      assert.match(e.message, /web chat application is not available/);
    });
  });

  describe('sending from a virtual number', () => {
    const vn = '33700000001';
    let base;
    before(() => {
      srv.smsctlOk(['number', 'add', acme.serviceName, `+${vn}`]);
      base = () => `/sms/${acme.serviceName}/virtualNumbers/${vn}`;
    });

    test('POST jobs sends with the number as sender; its outgoing lists it, not the others', SCHEMA, async () => {
      const before = (await ca.requestPromised('GET', `/sms/${acme.serviceName}`)).creditsLeft;
      const rep = await ca.requestPromised('POST', `${base()}/jobs`, {
        message: 'From a long number', receivers: ['+33612340001'], noStopClause: true, tag: 'vn',
      });
      checkModel(schema, 'sms.SmsSendingReport', rep, { allowExtra: true });
      assert.deepEqual(rep.validReceivers, ['+33612340001']);
      assert.equal(rep.totalCreditsRemoved, 1);
      const id = rep.ids[0];
      assert.equal((await ca.requestPromised('GET', `/sms/${acme.serviceName}`)).creditsLeft, before - 1);
      const m = await waitOutgoing(ca, acme.serviceName, id, delivered);
      assert.equal(m.sender, '+33700000001');
      assert.equal(srv.sql(`SELECT sender FROM messages WHERE id = ${id}`)[0].sender, '+33700000001');

      // An SMS of the service from its short number.
      const plain = await ca.requestPromised('POST', `/sms/${acme.serviceName}/jobs`, {
        message: 'From the short number', receivers: ['+33612340002'], noStopClause: true,
        senderForResponse: true,
      });
      const pid = plain.ids[0];
      await waitOutgoing(ca, acme.serviceName, pid, delivered);

      const list = await ca.requestPromised('GET', `${base()}/outgoing`);
      checkResponse(schema, 'GET', '/sms/{serviceName}/virtualNumbers/{number}/outgoing', list);
      assert.deepEqual(list, [id]);
      assert.deepEqual(await ca.requestPromised('GET', `${base()}/outgoing`, { tag: 'vn' }), [id]);
      assert.deepEqual(await ca.requestPromised('GET', `${base()}/outgoing`, { sender: '+33700000001' }), [id]);
      assert.deepEqual(await ca.requestPromised('GET', `${base()}/outgoing`, { sender: '36184' }), []);
      assert.deepEqual(await ca.requestPromised('GET', `${base()}/outgoing`, { receiver: '+33612340002' }), []);
      const all = await ca.requestPromised('GET', `/sms/${acme.serviceName}/outgoing`);
      assert.ok(all.includes(id) && all.includes(pid));

      const o = await ca.requestPromised('GET', `${base()}/outgoing/${id}`);
      checkModel(schema, 'sms.Outgoing', o, { allowExtra: true });
      assert.equal(o.sender, '+33700000001');
      assert.equal(o.message, 'From a long number');
      let e = await sdkError(ca.requestPromised('GET', `${base()}/outgoing/${pid}`));
      assert.equal(e.error, 404, 'an SMS not sent from the number');
      e = await sdkError(ca.requestPromised('DELETE', `${base()}/outgoing/${pid}`));
      assert.equal(e.error, 404);
      assert.equal((await ca.requestPromised('GET', `/sms/${acme.serviceName}/outgoing/${pid}`)).id, pid,
        'still there');
      // Bob's number cannot be used by acme, nor acme's by bob; nothing is charged.
      e = await sdkError(ca.requestPromised('POST', `/sms/${acme.serviceName}/virtualNumbers/41791234567/jobs`,
        { message: 'x', receivers: ['+33612340003'] }));
      assert.equal(e.error, 404);
      e = await sdkError(cb.requestPromised('GET', `/sms/${bob.serviceName}/virtualNumbers/${vn}/outgoing/${id}`));
      assert.equal(e.error, 404);
      assert.equal(srv.sql("SELECT COUNT(*) AS n FROM messages WHERE receiver = '+33612340003'")[0].n, 0);

      assert.equal(await ca.requestPromised('DELETE', `${base()}/outgoing/${id}`), null);
      assert.deepEqual(await ca.requestPromised('GET', `${base()}/outgoing`), []);
      e = await sdkError(ca.requestPromised('GET', `/sms/${acme.serviceName}/outgoing/${id}`));
      assert.equal(e.error, 404, 'deleted from the history');
    });

    test('a differed job: listed in its jobs, read, cancelled with a refund', SCHEMA, async () => {
      const credits = (await ca.requestPromised('GET', `/sms/${acme.serviceName}`)).creditsLeft;
      const rep = await ca.requestPromised('POST', `${base()}/jobs`, {
        message: 'Later', receivers: ['+33612340004'], differedPeriod: 60, noStopClause: true,
      });
      const id = rep.ids[0];
      const other = (await ca.requestPromised('POST', `/sms/${acme.serviceName}/jobs`, {
        message: 'Later too', receivers: ['+33612340005'], differedPeriod: 60, noStopClause: true,
        senderForResponse: true,
      })).ids[0];
      await sleep(SIM_DELAY_MS * 2);
      const jobs = await ca.requestPromised('GET', `${base()}/jobs`);
      checkResponse(schema, 'GET', '/sms/{serviceName}/virtualNumbers/{number}/jobs', jobs);
      assert.deepEqual(jobs, [id]);
      const j = await ca.requestPromised('GET', `${base()}/jobs/${id}`);
      checkModel(schema, 'sms.VirtualNumberJob', j, { allowExtra: true });
      assert.equal(j.receiver, '+33612340004');
      assert.equal(j.differedDelivery, 60);
      assert.equal(j.sender, '+33700000001');
      let e = await sdkError(ca.requestPromised('GET', `${base()}/jobs/${other}`));
      assert.equal(e.error, 404);
      e = await sdkError(ca.requestPromised('DELETE', `${base()}/jobs/${other}`));
      assert.equal(e.error, 404);
      assert.deepEqual(await ca.requestPromised('GET', `/sms/${acme.serviceName}/jobs/${other}`).then((x) => x.id), other,
        'the other job is still pending');

      assert.equal(await ca.requestPromised('DELETE', `${base()}/jobs/${id}`), null);
      assert.deepEqual(await ca.requestPromised('GET', `${base()}/jobs`), []);
      assert.equal((await ca.requestPromised('GET', `/sms/${acme.serviceName}`)).creditsLeft, credits - 1,
        'the cancelled one refunded, the other still charged');
      await ca.requestPromised('DELETE', `/sms/${acme.serviceName}/jobs/${other}`);
    });

    test('the STOP mention and the sender rules of the plain jobs apply', async () => {
      const rep = await ca.requestPromised('POST', `${base()}/jobs`, {
        message: 'Promo', receivers: ['+33612340006'], sender: '+33700000001',
      });
      const m = await waitOutgoing(ca, acme.serviceName, rep.ids[0], delivered);
      assert.match(m.message, /^Promo\nSTOP /, 'marketing by default, as /jobs');
      assert.equal(srv.sql(`SELECT stop_clause FROM messages WHERE id = ${rep.ids[0]}`)[0].stop_clause, 1);
      for (const [body, re] of [
        [{ sender: 'ACME' }, /'sender': an SMS sent through \/virtualNumbers\/\{number\}\/jobs comes from that number/],
        [{ sender: '+33700000002' }, /'sender'/],
        [{ senderForResponse: true }, /'senderForResponse'/],
        [{ receivers: [] }, /'receivers'/],
        [{ message: '' }, /'message'/],
      ]) {
        const e = await sdkError(ca.requestPromised('POST', `${base()}/jobs`,
          { message: 'x', receivers: ['+33612340007'], ...body }));
        assert.equal(e.error, 400, JSON.stringify(body));
        assert.match(e.message, re);
      }
      assert.equal(srv.sql("SELECT COUNT(*) AS n FROM messages WHERE receiver = '+33612340007'")[0].n, 0);
    });

    test('receivers from a CSV document: the templated SMS come from the number too', async () => {
      const csv = http.createServer((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/csv' });
        res.end('number;name\n+33612340011;Ann\n+33612340012;Ben\n');
      });
      await new Promise((r) => csv.listen(0, '127.0.0.1', r));
      try {
        const rep = await ca.requestPromised('POST', `${base()}/jobs`, {
          message: 'Hey #name#', noStopClause: true, tag: 'vncsv',
          receiversDocumentUrl: `http://127.0.0.1:${csv.address().port}/list.csv`,
        });
        assert.equal(rep.validReceiversCount, 2);
        await waitFor(() => srv.sql("SELECT COUNT(*) AS n FROM messages WHERE tag = 'vncsv'")[0].n === 2,
          { what: 'the two SMS of the document' });
        const rows = srv.sql("SELECT sender, message FROM messages WHERE tag = 'vncsv' ORDER BY receiver");
        assert.deepEqual(rows, [{ sender: '+33700000001', message: 'Hey Ann' },
          { sender: '+33700000001', message: 'Hey Ben' }]);
        await waitFor(async () => (await ca.requestPromised('GET', `${base()}/outgoing`, { tag: 'vncsv' })).length === 2,
          { what: 'both in the number\'s outgoing' });
      } finally {
        csv.closeAllConnections();
        await new Promise((r) => csv.close(r));
      }
    });

    test('Idempotency-Key: a retried send from the number is sent and charged once', async () => {
      const body = { message: 'Once', receivers: ['+33612340009'], noStopClause: true };
      const send = () => srv.raw({ method: 'POST', path: `${base()}/jobs`, keys: acme, body,
        headers: { 'Idempotency-Key': 'vn-once-1' } });
      const credits = (await ca.requestPromised('GET', `/sms/${acme.serviceName}`)).creditsLeft;
      const first = await send();
      assert.equal(first.status, 200, first.text);
      const again = await send();
      assert.equal(again.status, 200);
      assert.equal(again.text, first.text, 'the same answer, byte for byte');
      assert.equal(srv.sql("SELECT COUNT(*) AS n FROM messages WHERE receiver = '+33612340009'")[0].n, 1);
      assert.equal((await ca.requestPromised('GET', `/sms/${acme.serviceName}`)).creditsLeft, credits - 1);
      // The same key on the plain /jobs is another request (another path): 422.
      const other = await srv.raw({ method: 'POST', path: `/sms/${acme.serviceName}/jobs`, keys: acme,
        body, headers: { 'Idempotency-Key': 'vn-once-1' } });
      assert.equal(other.status, 422, other.text);
    });

    test('a removed number is gone at once from every route', async () => {
      srv.smsctlOk(['number', 'add', acme.serviceName, '+33700000077']);
      const p = `/sms/${acme.serviceName}/virtualNumbers/33700000077`;
      assert.ok((await ca.requestPromised('GET', '/sms/virtualNumbers')).includes('33700000077'));
      assert.deepEqual(await ca.requestPromised('GET', `${p}/outgoing`), []);
      srv.smsctlOk(['number', 'remove', '+33700000077']);
      assert.ok(!(await ca.requestPromised('GET', '/sms/virtualNumbers')).includes('33700000077'));
      for (const [method, sub, body] of [['GET', ''], ['GET', '/jobs'], ['GET', '/outgoing'],
        ['POST', '/jobs', { message: 'x', receivers: ['+33612340008'] }]]) {
        const e = await sdkError(ca.requestPromised(method, `${p}${sub}`, body));
        assert.equal(e.error, 404, `${method} ${sub}`);
      }
    });
  });

  test('another node on the same database sees a change at once', { timeout: 60000 }, async () => {
    // SQLite: a second process on the same data directory; PostgreSQL: on the same database.
    const other = DB_KIND === 'postgres'
      ? new Server({ database: srv.database, args: ['--node', 'vn2'] })
      : new Server({ args: ['--data', srv.dataDir, '--node', 'vn2'] });
    try {
      await other.start();
      const c2 = other.sdk(acme);
      const ctl1 = (args) => srv.smsctlOk(['--url', `http://127.0.0.1:${srv.port}`, ...args]);
      // Read once through node 2 (anything it would cache is there now).
      assert.ok(!(await c2.requestPromised('GET', '/sms/virtualNumbers')).includes('33700000088'));
      ctl1(['number', 'add', acme.serviceName, '+33700000088']);
      assert.ok((await c2.requestPromised('GET', '/sms/virtualNumbers')).includes('33700000088'));
      const v = await c2.requestPromised('GET', `/sms/${acme.serviceName}/virtualNumbers/33700000088`);
      assert.equal(v.number, '33700000088');
      ctl1(['number', 'remove', '+33700000088']);
      const e = await sdkError(c2.requestPromised('GET', `/sms/${acme.serviceName}/virtualNumbers/33700000088`));
      assert.equal(e.error, 404);
    } finally {
      await other.finish();
    }
  });
});
