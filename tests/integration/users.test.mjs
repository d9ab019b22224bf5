// users.test.mjs - SMS users (issue 15 point 2, docs/users.md), through the official OVH SDK:
//   - /sms/{sn}/users (list, create), /users/{login} (get, put, delete): sms.User checked
//     against OVH's schema, the password never shown nor stored in clear (a salted PBKDF2 hash
//     in sms_users), field errors named, another account's users 404;
//   - a user's jobs and outgoing (send, list, one, DELETE): its SMS carry its id, it sees only
//     its own SMS (another user's, or the service's, are 404 and absent from its lists), the
//     service sees them all;
//   - the quota: an active quota decremented by each send, a send over it refused with 402
//     and nothing charged; 50 concurrent sends against a quota of 20 credits leave exactly 20
//     accepted, the quota at 0, the service debited 20 (SQLite and PostgreSQL alike);
//   - the alert: one SMS to alertNumber when a send takes the quota below the threshold, and
//     not a second one;
//   - smsctl user add|list|passwd|remove.
//   - authentication through http2sms (the way in of a login and a password): a wrong login
//     and a wrong password answered in the same time (medians of a bounded number of tries,
//     the default 100,000 PBKDF2 iterations), five failures of a login then refused at once
//     even with the right password, the right password accepted again once the minute is over
//     only (not tested: a minute); tests/unit/test_users.c does the same on api_user_auth.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { httpRequest, sdkError, startServer, waitFor } from './lib/harness.mjs';
import { checkModel, checkResponse, loadSchema } from './lib/ovhschema.mjs';

const schema = loadSchema();
const SCHEMA = {}; // answers checked against OVH's schema where it is (lib/ovhschema.mjs)

describe('SMS users', () => {
  let srv, acme, bob, ca, cb, sn;
  before(async () => {
    srv = await startServer({ args: ['--user-password-iterations', '2000'] });
    acme = srv.createAccount('usacme', 1000);
    bob = srv.createAccount('usbob', 20);
    ca = srv.sdk(acme);
    cb = srv.sdk(bob);
    sn = acme.serviceName;
  });
  after(async () => { await srv?.finish(); });

  const send = (login, body) =>
    ca.requestPromised('POST', `/sms/${sn}/users/${login}/jobs`,
      { message: 'hello', receivers: ['+33600000001'], noStopClause: true, ...body });

  test('create, get, list, update, delete', SCHEMA, async () => {
    assert.equal(await ca.requestPromised('POST', `/sms/${sn}/users`,
      { login: 'team1', password: 'secret-pass-1' }), null);
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'team2', password: 'secret-pass-2' });
    const list = await ca.requestPromised('GET', `/sms/${sn}/users`);
    assert.deepEqual(list, ['team1', 'team2']);
    checkResponse(schema, 'GET', '/sms/{serviceName}/users', list);

    let u = await ca.requestPromised('GET', `/sms/${sn}/users/team1`);
    checkModel(schema, 'sms.User', u);
    assert.equal(u.login, 'team1');
    assert.equal(u.password, '');
    assert.deepEqual(u.quotaInformations, { quotaLeft: 0, quotaStatus: 'inactive' });
    assert.equal(u.callBack, null);
    assert.deepEqual(u.ipRestrictions, []);

    // Stored as a salted slow hash, never in clear; two users with passwords alike differ.
    const rows = srv.sql(`SELECT login, password_hash FROM sms_users ORDER BY login`);
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.match(r.password_hash, /^pbkdf2-sha256\$2000\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
      assert.ok(!r.password_hash.includes('secret'));
    }
    assert.notEqual(rows[0].password_hash.split('$')[2], rows[1].password_hash.split('$')[2]);

    assert.equal(await ca.requestPromised('PUT', `/sms/${sn}/users/team1`, {
      callBack: 'https://example.com/dlr', stopCallBack: 'https://example.com/stop',
      ipRestrictions: ['192.0.2.0/24', '127.0.0.1'],
      quotaInformations: { quotaStatus: 'active', quotaLeft: 12.5 },
      alertThresholdInformations: { alertThreshold: 3, support: 'sms', alertNumber: '0600000002' },
    }), null);
    u = await ca.requestPromised('GET', `/sms/${sn}/users/team1`);
    checkModel(schema, 'sms.User', u);
    assert.equal(u.callBack, 'https://example.com/dlr');
    assert.equal(u.stopCallBack, 'https://example.com/stop');
    assert.deepEqual(u.ipRestrictions, ['192.0.2.0/24', '127.0.0.1']);
    assert.deepEqual(u.quotaInformations, { quotaLeft: 12.5, quotaStatus: 'active' });
    assert.deepEqual(u.alertThresholdInformations,
      { alertEmail: '', alertNumber: '+33600000002', alertThreshold: 3, support: 'sms' });
    // A read-modify-write keeps the password (GET shows ""); "" clears a callBack (the SDK
    // drops nulls from bodies).
    const before = srv.sql(`SELECT password_hash FROM sms_users WHERE login = 'team1'`)[0].password_hash;
    await ca.requestPromised('PUT', `/sms/${sn}/users/team1`, { ...u, callBack: '' });
    assert.equal(srv.sql(`SELECT password_hash FROM sms_users WHERE login = 'team1'`)[0].password_hash, before);
    assert.equal((await ca.requestPromised('GET', `/sms/${sn}/users/team1`)).callBack, null);
    // A new password: a new hash.
    await ca.requestPromised('PUT', `/sms/${sn}/users/team1`, { password: 'another-pass-1' });
    assert.notEqual(srv.sql(`SELECT password_hash FROM sms_users WHERE login = 'team1'`)[0].password_hash, before);

    assert.equal(await ca.requestPromised('DELETE', `/sms/${sn}/users/team2`), null);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users`), ['team1']);
    const e = await sdkError(ca.requestPromised('GET', `/sms/${sn}/users/team2`));
    assert.equal(e.error, 404);
  });

  test('bad input is refused naming the field', async () => {
    const cases = [
      ['POST', `/sms/${sn}/users`, { password: 'long-enough' }, 400, /login/],
      ['POST', `/sms/${sn}/users`, { login: 'x', password: 'long-enough' }, 400, /'login'.*3 to 32/],
      ['POST', `/sms/${sn}/users`, { login: 'a b c', password: 'long-enough' }, 400, /'login'/],
      ['POST', `/sms/${sn}/users`, { login: 'shortpw', password: 'short' }, 400, /'password'.*8 to 64/],
      ['POST', `/sms/${sn}/users`, { login: 'team1', password: 'long-enough' }, 409, /already exists/],
      ['PUT', `/sms/${sn}/users/team1`, { login: 'other' }, 400, /'login'.*cannot be changed/],
      ['PUT', `/sms/${sn}/users/team1`, { callBack: 'ftp://x' }, 400, /'callBack'/],
      ['PUT', `/sms/${sn}/users/team1`, { ipRestrictions: ['300.1.1.1'] }, 400, /'ipRestrictions'/],
      ['PUT', `/sms/${sn}/users/team1`, { quotaInformations: { quotaStatus: 'on' } }, 400,
        /'quotaInformations.quotaStatus'/],
      ['PUT', `/sms/${sn}/users/team1`, { quotaInformations: { quotaLeft: -1 } }, 400,
        /'quotaInformations.quotaLeft'/],
      ['PUT', `/sms/${sn}/users/team1`, { alertThresholdInformations: { support: 'fax' } }, 400,
        /'alertThresholdInformations.support'/],
      ['PUT', `/sms/${sn}/users/team1`, { alertThresholdInformations: { alertNumber: 'abc' } }, 400,
        /'alertThresholdInformations.alertNumber'/],
      ['PUT', `/sms/${sn}/users/nobody`, { callBack: '' }, 404, /login = nobody/],
      ['DELETE', `/sms/${sn}/users/nobody`, undefined, 404, /does not exist/],
      ['GET', `/sms/${sn}/users/nobody/outgoing`, undefined, 404, /does not exist/],
    ];
    for (const [method, path, body, status, re] of cases) {
      const e = await sdkError(ca.requestPromised(method, path, body));
      assert.equal(e.error, status, `${method} ${path} ${JSON.stringify(body)}: ${e.message}`);
      assert.match(e.message, re, `${method} ${path}`);
    }
    // Another account sees neither the service's users nor their SMS.
    for (const p of [`/sms/${sn}/users`, `/sms/${sn}/users/team1`, `/sms/${sn}/users/team1/outgoing`]) {
      const e = await sdkError(cb.requestPromised('GET', p));
      assert.ok(e.error === 404 || e.error === 403, `${p}: ${e.error}`);
    }
  });

  test('a user sees only its own SMS', async () => {
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'alice', password: 'alice-pass-1' });
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'bobby', password: 'bobby-pass-1' });
    const a = await send('alice', { differedPeriod: 60 });
    const b = await send('bobby', { differedPeriod: 60 });
    const s = await ca.requestPromised('POST', `/sms/${sn}/jobs`,
      { message: 'svc', receivers: ['+33600000003'], noStopClause: true, differedPeriod: 60 });
    const [ida, idb, ids] = [a.ids[0], b.ids[0], s.ids[0]];
    const rows = srv.sql(`SELECT id, user_id FROM messages WHERE id IN (${ida}, ${idb}, ${ids}) ORDER BY id`);
    const uid = srv.sql(`SELECT id, login FROM sms_users WHERE login IN ('alice', 'bobby') ORDER BY login`);
    assert.deepEqual(rows.map((r) => r.user_id), [uid[0].id, uid[1].id, null]);

    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/alice/jobs`), [ida]);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/bobby/jobs`), [idb]);
    const all = await ca.requestPromised('GET', `/sms/${sn}/jobs`);
    for (const id of [ida, idb, ids]) assert.ok(all.includes(id), `the service sees ${id}`);
    const job = await ca.requestPromised('GET', `/sms/${sn}/users/alice/jobs/${ida}`);
    assert.equal(job.id, ida);
    for (const [login, id] of [['alice', idb], ['alice', ids], ['bobby', ida]]) {
      for (const kind of ['jobs', 'outgoing']) {
        const e = await sdkError(ca.requestPromised('GET', `/sms/${sn}/users/${login}/${kind}/${id}`));
        assert.equal(e.error, 404, `${login} reads ${kind}/${id}`);
      }
      const e = await sdkError(ca.requestPromised('DELETE', `/sms/${sn}/users/${login}/jobs/${id}`));
      assert.equal(e.error, 404, `${login} cancels ${id}`);
    }
    // Still pending: nobody else cancelled them. alice cancels hers.
    assert.equal(await ca.requestPromised('DELETE', `/sms/${sn}/users/alice/jobs/${ida}`), null);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/alice/jobs`), []);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/bobby/jobs`), [idb]);

    // A sent SMS: in the user's outgoing only.
    const d = await send('alice', {});
    await waitFor(async () => (await ca.requestPromised('GET', `/sms/${sn}/users/alice/outgoing`)).includes(d.ids[0]),
      { what: "alice's SMS in her outgoing" });
    assert.ok(!(await ca.requestPromised('GET', `/sms/${sn}/users/bobby/outgoing`)).includes(d.ids[0]));
    const o = await ca.requestPromised('GET', `/sms/${sn}/users/alice/outgoing/${d.ids[0]}`);
    assert.equal(o.id, d.ids[0]);
  });

  test('50 concurrent sends against a quota of 20 credits: exactly 20 accepted', async () => {
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'quota50', password: 'quota-pass-1' });
    await ca.requestPromised('PUT', `/sms/${sn}/users/quota50`,
      { quotaInformations: { quotaStatus: 'active', quotaLeft: 20 } });
    const balance0 = (await ca.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) =>
      send('quota50', { receivers: [`+336000001${String(i).padStart(2, '0')}`] })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(ok.length, 20);
    assert.equal(refused.length, 30);
    for (const r of refused) {
      assert.equal(r.reason.error, 402, JSON.stringify(r.reason));
      assert.match(r.reason.message, /Not enough quota for the SMS user 'quota50'/);
    }
    const u = await ca.requestPromised('GET', `/sms/${sn}/users/quota50`);
    assert.deepEqual(u.quotaInformations, { quotaLeft: 0, quotaStatus: 'active' });
    // sms.Account counts the users with an active quota and what their quotas hold (team1's
    // 12.5 credits, quota50's 0).
    const acct = await ca.requestPromised('GET', `/sms/${sn}`);
    assert.equal(acct.userQuantityWithQuota, 2);
    assert.equal(acct.creditsHoldByQuota, 12.5);
    const balance1 = (await ca.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    assert.equal(Math.round((balance0 - balance1) * 1000), 20000);
    const n = srv.sql(`SELECT COUNT(*) AS n FROM messages m JOIN sms_users u ON u.id = m.user_id
                       WHERE u.login = 'quota50'`)[0].n;
    assert.equal(n, 20);
    // An inactive quota limits nothing and is not decremented.
    await ca.requestPromised('PUT', `/sms/${sn}/users/quota50`,
      { quotaInformations: { quotaStatus: 'inactive' } });
    await send('quota50', {});
    assert.deepEqual((await ca.requestPromised('GET', `/sms/${sn}/users/quota50`)).quotaInformations,
      { quotaLeft: 0, quotaStatus: 'inactive' });
  });

  test('the quota alert: one SMS when the quota falls below the threshold', async () => {
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'alerted', password: 'alert-pass-1' });
    await ca.requestPromised('PUT', `/sms/${sn}/users/alerted`, {
      quotaInformations: { quotaStatus: 'active', quotaLeft: 5 },
      alertThresholdInformations: { alertThreshold: 3, support: 'sms', alertNumber: '+33600000099' },
    });
    const alerts = () => srv.sql(`SELECT a.support, a.target, a.quota_left, a.message_id
      FROM sms_user_alerts a JOIN sms_users u ON u.id = a.user_id WHERE u.login = 'alerted'`);
    await send('alerted', {}); // 4 left: no alert
    assert.deepEqual(alerts(), []);
    await send('alerted', {}); // 3 left: not below
    assert.deepEqual(alerts(), []);
    await send('alerted', {}); // 2 left: below 3, the alert
    let a = alerts();
    assert.equal(a.length, 1);
    assert.equal(a[0].support, 'sms');
    assert.equal(a[0].target, '+33600000099');
    assert.equal(a[0].quota_left, 2000);
    const m = srv.sql(`SELECT receiver, message, user_id FROM messages WHERE id = ${a[0].message_id}`)[0];
    assert.equal(m.receiver, '+33600000099');
    assert.match(m.message, /SMS user alerted: 2\.000 credits left, under the alert threshold of 3 credits/);
    assert.equal(m.user_id, null); // the service's SMS, not the user's: its quota is untouched
    await send('alerted', {}); // 1 left: no second alert
    assert.equal(alerts().length, 1);
    assert.deepEqual((await ca.requestPromised('GET', `/sms/${sn}/users/alerted`)).quotaInformations,
      { quotaLeft: 1, quotaStatus: 'active' });
    // A new quota above the threshold re-arms it.
    await ca.requestPromised('PUT', `/sms/${sn}/users/alerted`, { quotaInformations: { quotaLeft: 4 } });
    await send('alerted', {});
    await send('alerted', {});
    assert.equal(alerts().length, 2);
  });

  test("the user's callBack gets its SMS's status callbacks, the service's the others", async () => {
    const hits = [];
    const rx = http.createServer((req, res) => { hits.push(req.url); res.end('ok'); });
    await new Promise((r) => rx.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${rx.address().port}`;
    try {
      await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'cbuser', password: 'cb-pass-123' });
      await ca.requestPromised('PUT', `/sms/${sn}/users/cbuser`, { callBack: `${base}/user` });
      await ca.requestPromised('PUT', `/sms/${sn}`, { callBack: `${base}/service` });
      const u = await send('cbuser', {});
      const v = await ca.requestPromised('POST', `/sms/${sn}/jobs`,
        { message: 'svc', receivers: ['+33600000004'], noStopClause: true });
      const got = (path, id) => hits.filter((h) => h.startsWith(path) && new URL(h, base).searchParams.get('id') === String(id));
      await waitFor(() => got('/user', u.ids[0]).some((h) => /description=1(&|$)/.test(h)) &&
        got('/service', v.ids[0]).some((h) => /description=1(&|$)/.test(h)),
      { what: 'delivered callbacks', timeoutMs: 15000 });
      assert.equal(got('/service', u.ids[0]).length, 0);
      assert.equal(got('/user', v.ids[0]).length, 0);
      // Frozen on the message: a later change applies to later SMS only.
      const row = srv.sql(`SELECT callback_url FROM messages WHERE id = ${u.ids[0]}`)[0];
      assert.equal(row.callback_url, `${base}/user`);
    } finally {
      await ca.requestPromised('PUT', `/sms/${sn}`, { callBack: '' });
      rx.close();
    }
  });

  test("a user's incoming: the replies to its SMS only", SCHEMA, async () => {
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'replied', password: 'reply-pass-1' });
    const base = `+3361${String(process.pid % 100).padStart(2, '0')}`;
    const u = await send('replied', { receivers: [`${base}01906`], senderForResponse: true });
    const v = await ca.requestPromised('POST', `/sms/${sn}/jobs`,
      { message: 'svc', receivers: [`${base}02906`], senderForResponse: true, noStopClause: true });
    assert.equal(u.ids.length, 1);
    assert.equal(v.ids.length, 1);
    await waitFor(async () => (await ca.requestPromised('GET', `/sms/${sn}/incoming`)).length >= 2,
      { what: 'the two replies', timeoutMs: 15000 });
    const all = await ca.requestPromised('GET', `/sms/${sn}/incoming`);
    const mine = await ca.requestPromised('GET', `/sms/${sn}/users/replied/incoming`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/users/{login}/incoming', mine);
    assert.equal(mine.length, 1);
    const one = await ca.requestPromised('GET', `/sms/${sn}/users/replied/incoming/${mine[0]}`);
    checkModel(schema, 'sms.Incoming', one, { allowExtra: true });
    assert.equal(one.sender, `${base}01906`);
    const other = all.find((id) => id !== mine[0]);
    for (const login of ['replied', 'alice']) {
      const e = await sdkError(ca.requestPromised('GET', `/sms/${sn}/users/${login}/incoming/${other}`));
      assert.equal(e.error, 404);
      const d = await sdkError(ca.requestPromised('DELETE', `/sms/${sn}/users/${login}/incoming/${other}`));
      assert.equal(d.error, 404);
    }
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/alice/incoming`), []);
    assert.equal(await ca.requestPromised('DELETE', `/sms/${sn}/users/replied/incoming/${mine[0]}`), null);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/replied/incoming`), []);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/incoming`), [other]);
  });

  test("a STOP to a user's SMS calls the user's stopCallBack", async () => {
    const hits = [];
    const rx = http.createServer((req, res) => { hits.push(req.url); res.end('ok'); });
    await new Promise((r) => rx.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${rx.address().port}`;
    try {
      await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'stopper', password: 'stop-pass-1' });
      await ca.requestPromised('PUT', `/sms/${sn}/users/stopper`, { stopCallBack: `${base}/ustop` });
      await ca.requestPromised('PUT', `/sms/${sn}`, { stopCallBack: `${base}/sstop` });
      const to = `+3361${String(process.pid % 100).padStart(2, '0')}03905`;
      const u = await send('stopper', { receivers: [to], noStopClause: false, senderForResponse: true });
      await waitFor(() => hits.some((h) => h.startsWith('/ustop')), { what: "the user's stopCallBack", timeoutMs: 15000 });
      const h = new URL(hits.find((x) => x.startsWith('/ustop')), base);
      assert.equal(h.searchParams.get('id'), String(u.ids[0]));
      assert.equal(hits.filter((x) => x.startsWith('/sstop')).length, 0);
    } finally {
      await ca.requestPromised('PUT', `/sms/${sn}`, { stopCallBack: '' });
      rx.close();
    }
  });

  test("a user's receivers slots are its own", SCHEMA, async () => {
    const csv = 'Name,Number\r\nAna,+33612345680\r\nBob,0033612345690\r\n';
    const rx = http.createServer((req, res) => { res.setHeader('Content-Type', 'text/csv'); res.end(csv); });
    await new Promise((r) => rx.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${rx.address().port}/list.csv`;
    try {
      await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'slots', password: 'slots-pass-1' });
      const r = await ca.requestPromised('POST', `/sms/${sn}/users/slots/receivers`,
        { slotId: 1, description: 'team list', autoUpdate: false, csvUrl: url });
      checkModel(schema, 'sms.Receiver', r, { allowExtra: true });
      assert.equal(r.slotId, 1);
      assert.equal(r.validRecords, 2);
      assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/slots/receivers`), [1]);
      // Not the service's, nor another user's.
      assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/receivers`), []);
      assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/alice/receivers`), []);
      let e = await sdkError(ca.requestPromised('GET', `/sms/${sn}/receivers/1`));
      assert.equal(e.error, 404);
      e = await sdkError(ca.requestPromised('GET', `/sms/${sn}/users/alice/receivers/1`));
      assert.equal(e.error, 404);
      const g = await ca.requestPromised('GET', `/sms/${sn}/users/slots/receivers/1`);
      assert.equal(g.description, 'team list');
      assert.equal(await ca.requestPromised('PUT', `/sms/${sn}/users/slots/receivers/1`,
        { description: 'renamed' }), null);
      assert.equal((await ca.requestPromised('GET', `/sms/${sn}/users/slots/receivers/1`)).description, 'renamed');
      const text = await ca.requestPromised('GET', `/sms/${sn}/users/slots/receivers/1/csv`);
      assert.match(text, /Ana,\+33612345680/);
      // Its clean works on its own slot (the service has no slot 1): nothing refused here.
      const cl = await ca.requestPromised('POST', `/sms/${sn}/users/slots/receivers/1/clean`,
        { freemium: true, priceOnly: false });
      checkModel(schema, 'sms.ReceiversAsynchronousCleanReport', cl, { allowExtra: true });
      assert.equal(cl.invalidRemoved, 0);
      assert.ok(cl.taskId > 0);
      e = await sdkError(ca.requestPromised('POST', `/sms/${sn}/users/alice/receivers/1/clean`,
        { freemium: true, priceOnly: false }));
      assert.equal(e.error, 404, "another user's slot is not found");
      // A user sends to a list of receivers; a slot is the service's business (docs/users.md).
      e = await sdkError(send('slots', { receivers: undefined, receiversSlotId: '1' }));
      assert.equal(e.error, 400);
      assert.match(e.message, /receivers slots and documents are sent by the service/);
      assert.equal(await ca.requestPromised('DELETE', `/sms/${sn}/users/slots/receivers/1`), null);
      assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/users/slots/receivers`), []);
    } finally {
      rx.close();
    }
  });

  test('smsctl user add|list|passwd|remove', () => {
    let r = srv.smsctlOk(['user', 'add', sn, 'ops1', '--password', 'ops-pass-123']);
    assert.equal(r.stdout, `added user ops1 to ${sn}\n`);
    r = srv.smsctl(['user', 'add', sn, 'ops1', '--password', 'ops-pass-123']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already exists/);
    r = srv.smsctl(['user', 'add', sn, 'ops2', '--password', 'short']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /'password'.*8 to 64/);
    r = srv.smsctlOk(['user', 'list', sn]);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^LOGIN\s+QUOTA\s+LEFT\s+CALLBACK\s+IPS\s+CREATED$/);
    assert.ok(lines.some((l) => /^ops1\s+inactive\s+0\s+-\s+-\s+\d{4}-/.test(l)), r.stdout);
    const j = srv.smsctlOk(['user', 'list', sn, '--json']).json;
    const ops = j.find((x) => x.login === 'ops1');
    assert.ok(ops);
    assert.equal(ops.password, undefined);
    const h0 = srv.sql(`SELECT password_hash FROM sms_users WHERE login = 'ops1'`)[0].password_hash;
    r = srv.smsctlOk(['user', 'passwd', sn, 'ops1', '--password', 'ops-pass-456']);
    assert.equal(r.stdout, `changed the password of ops1\n`);
    assert.notEqual(srv.sql(`SELECT password_hash FROM sms_users WHERE login = 'ops1'`)[0].password_hash, h0);
    r = srv.smsctlOk(['user', 'remove', sn, 'ops1']);
    assert.equal(r.stdout, `removed user ops1 from ${sn}\n`);
    r = srv.smsctl(['user', 'remove', sn, 'ops1']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /login = ops1/);
    r = srv.smsctl(['user', 'list', 'sms-nobody-9']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /The service 'sms-nobody-9' does not exist/);
  });
});

// The median of a list of numbers.
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('SMS user authentication through http2sms', () => {
  let srv, acme, sn;
  before(async () => {
    // The default hash cost; failures unlimited for the timing, limited in the second server.
    srv = await startServer({ args: ['--user-auth-failures', '1000'] });
    acme = srv.createAccount('usauth', 100);
    sn = acme.serviceName;
    const ca = srv.sdk(acme);
    await ca.requestPromised('POST', `/sms/${sn}/users`, { login: 'timed', password: 'timed-pass-1' });
  });
  after(async () => { await srv?.finish(); });

  const h2s = (login, password, extra = {}) => {
    const qs = new URLSearchParams({ account: sn, login, password, senderForResponse: '1', to: '+33600000001',
      message: 'x', noStop: '1', contentType: 'text/json', ...extra }).toString();
    return httpRequest({ port: srv.port, target: `/cgi-bin/sms/http2sms.cgi?${qs}` });
  };
  const timed = async (login, password) => {
    const t0 = process.hrtime.bigint();
    const r = await h2s(login, password);
    return { r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  };

  test('a wrong login and a wrong password take the same time', { timeout: 60000 }, async () => {
    const ok = await h2s('timed', 'timed-pass-1');
    assert.equal(ok.json.status, 100, ok.text);
    const wl = [], wp = [];
    for (let i = 0; i < 11; i++) {
      // alternated, each kind first every other time
      const tries = [['login', `nobody${i}`, 'timed-pass-1'], ['password', 'timed', `wrong-pass-${i}`]];
      if (i % 2) tries.reverse();
      for (const [kind, login, password] of tries) {
        const t = await timed(login, password);
        assert.equal(t.r.json.status, 401, t.r.text);
        (kind === 'login' ? wl : wp).push(t.ms);
      }
    }
    const ml = median(wl), mp = median(wp);
    console.log(`# http2sms medians: wrong login ${ml.toFixed(1)} ms, wrong password ${mp.toFixed(1)} ms`);
    assert.equal(wl.length, wp.length);
    // The same answer, and neither median twice the other (a shared machine); a wrong login
    // that skipped the hash would answer in about a millisecond.
    assert.ok(ml < 2 * mp && mp < 2 * ml, `medians ${ml} and ${mp}`);
    assert.ok(mp > 5, `a hash was verified: ${mp} ms`);
    srv.expectLog(/SMS user authentication/);
  });
});

describe('SMS user authentication: repeated failures are slowed down', () => {
  let srv, sn;
  before(async () => {
    srv = await startServer({ args: ['--user-password-iterations', '2000'] });
    const acme = srv.createAccount('usslow', 100);
    sn = acme.serviceName;
    await srv.sdk(acme).requestPromised('POST', `/sms/${sn}/users`, { login: 'slow', password: 'slow-pass-1' });
  });
  after(async () => { await srv?.finish(); });

  test('five failures, then refused without a try', async () => {
    const h2s = (password) => httpRequest({ port: srv.port, target: '/cgi-bin/sms/http2sms.cgi?' +
      new URLSearchParams({ account: sn, login: 'slow', password, senderForResponse: '1', to: '+33600000001', message: 'x',
        noStop: '1', contentType: 'text/json' }).toString() });
    let r = await h2s('slow-pass-1');
    assert.equal(r.json.status, 100, r.text);
    for (let i = 0; i < 5; i++) {
      r = await h2s(`bad-${i}-password`);
      assert.equal(r.json.status, 401);
      assert.doesNotMatch(r.json.message, /Too many/);
    }
    // The right password now: refused, without a verification, until the minute is over.
    r = await h2s('slow-pass-1');
    assert.equal(r.json.status, 401);
    assert.match(r.json.message, /Too many failed logins/);
    srv.expectLog(/SMS user authentication/);
  });
});
