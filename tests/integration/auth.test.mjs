// auth.test.mjs - authentication, access rules, request validation and isolation between
// accounts: every refusal and its OVH error body (spec 2, 3).
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, httpRequest, ovhSignature, sdkError, startServer, waitOutgoing }
  from './lib/harness.mjs';

describe('authentication and errors', () => {
  let srv, keys, sn, client;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount('auth', 10);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  describe('signatures, keys and timestamps', () => {
    test('a correctly signed request passes (control)', async () => {
      const r = await srv.raw({ path: '/sms', keys });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json, [sn]);
    });

    test('wrong application secret: 400 INVALID_SIGNATURE', async () => {
      const r = await srv.raw({ path: '/sms', keys, secret: 'not-the-secret' });
      assertOvhError(r, 400, { errorCode: 'INVALID_SIGNATURE', message: 'Invalid signature' });
      // Through the SDK too.
      const bad = srv.sdk({ ...keys, appSecret: 'wrong' });
      const e = await sdkError(bad.requestPromised('GET', '/sms'));
      assert.equal(e.error, 400);
      assert.equal(e.message, 'Invalid signature');
    });

    test('signature over another body, URL or method: 400 INVALID_SIGNATURE', async () => {
      const ts = await srv.serverTime();
      const body = JSON.stringify({ message: 'x', receivers: ['+33612345678'], senderForResponse: true });
      const url = `http://127.0.0.1:${srv.port}/1.0/sms/${sn}/jobs`;
      const sign = (m, u, b) => ovhSignature(keys.appSecret, keys.consumerKey, m, u, b, ts);
      const headers = (sig) => ({
        'Content-Type': 'application/json', 'X-Ovh-Application': keys.appKey,
        'X-Ovh-Consumer': keys.consumerKey, 'X-Ovh-Timestamp': String(ts), 'X-Ovh-Signature': sig,
      });
      for (const sig of [sign('POST', url, body.replace('x', 'y')), sign('GET', url, body),
        sign('POST', url + '?a=1', body), sign('POST', url, '')]) {
        const r = await httpRequest({ port: srv.port, method: 'POST', target: `/1.0/sms/${sn}/jobs`,
          headers: headers(sig), body });
        assertOvhError(r, 400, { errorCode: 'INVALID_SIGNATURE' });
      }
      // Nothing was sent by any of them.
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`), []);
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 10);
      // The signature's hex digits are compared case-insensitively (spec 2.3).
      const upper = sign('GET', `http://127.0.0.1:${srv.port}/1.0/sms`, '');
      const r = await httpRequest({ port: srv.port, target: '/1.0/sms',
        headers: headers('$1$' + upper.slice(3).toUpperCase()) });
      assert.equal(r.status, 200, r.text);
      // A missing signature is a bad signature.
      const n = await srv.raw({ path: '/sms', keys, headers: { 'X-Ovh-Signature': null } });
      assertOvhError(n, 400, { errorCode: 'INVALID_SIGNATURE' });
    });

    test('unknown consumer key: 403 NOT_CREDENTIAL', async () => {
      const r = await srv.raw({ path: '/sms', keys: { ...keys, consumerKey: 'f'.repeat(32) } });
      assertOvhError(r, 403, { errorCode: 'NOT_CREDENTIAL', message: 'This credential does not exist' });
      const e = await sdkError(srv.sdk({ ...keys, consumerKey: 'nope' }).requestPromised('GET', '/sms'));
      assert.equal(e.error, 403);
    });

    test('unknown application key: 403 INVALID_KEY', async () => {
      const r = await srv.raw({ path: '/sms', keys: { ...keys, appKey: 'unknownappkey' } });
      assertOvhError(r, 403, { errorCode: 'INVALID_KEY', message: 'This application key is invalid' });
      const e = await sdkError(srv.sdk({ ...keys, appKey: 'unknownappkey' }).requestPromised('GET', '/sms'));
      assert.equal(e.error, 403);
      // No application key at all.
      const n = await srv.raw({ path: '/sms', keys, headers: { 'X-Ovh-Application': null } });
      assertOvhError(n, 403, { errorCode: 'INVALID_KEY' });
    });

    test('another account\'s application key with this consumer key: 403 NOT_CREDENTIAL', async () => {
      const other = srv.createAccount('auth-other-app', 1);
      const r = await srv.raw({ path: '/sms', keys: { ...other, consumerKey: keys.consumerKey } });
      assertOvhError(r, 403, { errorCode: 'NOT_CREDENTIAL' });
    });

    test('no consumer key on an authenticated route: 401', async () => {
      const r = await srv.raw({ path: '/sms', keys: { appKey: keys.appKey } });
      assertOvhError(r, 401);
      const e = await sdkError(srv.sdk({ ...keys, consumerKey: undefined }).requestPromised('GET', '/sms'));
      assert.equal(e.error, 401);
    });

    test('stale, future or missing timestamp: 400 QUERY_TIME_OUT', async () => {
      const now = await srv.serverTime();
      for (const ts of [now - 3600, now + 3600]) {
        const r = await srv.raw({ path: '/sms', keys, timestamp: ts });
        assertOvhError(r, 400, { errorCode: 'QUERY_TIME_OUT' });
      }
      const r = await srv.raw({ path: '/sms', keys, timestamp: 'soon' });
      assertOvhError(r, 400, { errorCode: 'QUERY_TIME_OUT' });
      const m = await srv.raw({ path: '/sms', keys, headers: { 'X-Ovh-Timestamp': null } });
      assertOvhError(m, 400, { errorCode: 'QUERY_TIME_OUT' });
      // Within the window (a minute off) is accepted.
      const ok = await srv.raw({ path: '/sms', keys, timestamp: now - 60 });
      assert.equal(ok.status, 200, ok.text);
      // The SDK with a wrong clock correction is refused the same way.
      const skewed = srv.sdk(keys, { apiTimeDiff: -3600 });
      const e = await sdkError(skewed.requestPromised('GET', '/sms'));
      assert.equal(e.error, 400);
      assert.equal(e.message, 'Query out of time');
    });

    test('the timestamp window is 300 s each way', async () => {
      const now = await srv.serverTime();
      for (const d of [-290, 290]) {
        const r = await srv.raw({ path: '/sms', keys, timestamp: now + d });
        assert.equal(r.status, 200, `timestamp now${d > 0 ? '+' : ''}${d}: ${r.text}`);
      }
      for (const d of [-310, 310]) {
        const r = await srv.raw({ path: '/sms', keys, timestamp: now + d });
        assertOvhError(r, 400, { errorCode: 'QUERY_TIME_OUT' });
      }
    });

    test('no-auth routes ignore auth headers, even invalid ones', async () => {
      const r = await srv.raw({ path: '/auth/time', keys, secret: 'wrong', timestamp: 1 });
      assert.equal(r.status, 200, r.text);
      assert.ok(Number.isInteger(r.json));
    });
  });

  describe('consumer keys requested with POST /auth/credential', () => {
    let ck, appOnly, validationUrl;
    before(() => { appOnly = srv.sdk({ appKey: keys.appKey, appSecret: keys.appSecret }); });

    test('the request answers a pending consumer key', async () => {
      const r = await appOnly.requestPromised('POST', '/auth/credential', {
        accessRules: [{ method: 'GET', path: '/sms' }], redirection: 'https://example.com/done',
      });
      assert.equal(r.state, 'pendingValidation');
      assert.equal(typeof r.consumerKey, 'string');
      assert.ok(r.consumerKey.length >= 16);
      assert.match(r.validationUrl, /^https?:\/\//);
      ck = r.consumerKey;
      validationUrl = r.validationUrl;
    });

    test('the validationUrl answers a page (200)', async () => {
      const u = new URL(validationUrl);
      assert.equal(u.hostname, '127.0.0.1');
      const page = await httpRequest({ tls: u.protocol === 'https:', port: Number(u.port || 443),
        target: u.pathname + u.search });
      assert.equal(page.status, 200, `GET ${validationUrl} answered ${page.status}: ${page.text}`);
    });

    test('a pending consumer key is 403 INVALID_CREDENTIAL', async () => {
      const r = await srv.raw({ path: '/sms', keys: { ...keys, consumerKey: ck } });
      assertOvhError(r, 403, { errorCode: 'INVALID_CREDENTIAL', message: 'This credential is not valid' });
      const e = await sdkError(srv.sdk({ ...keys, consumerKey: ck }).requestPromised('GET', '/sms'));
      assert.equal(e.error, 403);
    });

    test('once validated with smsctl: GET /sms works, other calls are NOT_GRANTED_CALL', async () => {
      const out = srv.smsctlOk(['credential', 'validate', ck]);
      assert.match(out.stdout, /validated/);
      const c = srv.sdk({ ...keys, consumerKey: ck });
      assert.deepEqual(await c.requestPromised('GET', '/sms'), [sn]);
      assert.deepEqual(await c.requestPromised('GET', '/sms/'), [sn]);

      const body = { message: 'x', receivers: ['+33612345678'], senderForResponse: true };
      const e = await sdkError(c.requestPromised('POST', `/sms/${sn}/jobs`, body));
      assert.equal(e.error, 403);
      assert.equal(e.message, 'This call has not been granted');
      const r = await srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys: { ...keys, consumerKey: ck }, body });
      assertOvhError(r, 403, { errorCode: 'NOT_GRANTED_CALL' });
      // /sms does not grant /sms/{sn}.
      const g = await srv.raw({ path: `/sms/${sn}`, keys: { ...keys, consumerKey: ck } });
      assertOvhError(g, 403, { errorCode: 'NOT_GRANTED_CALL' });
      // Nothing was sent.
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`), []);
    });

    test('rules written with a trailing slash (OVH guides) match; /sms/* grants sub-paths', async () => {
      const r = await appOnly.requestPromised('POST', '/auth/credential', {
        accessRules: [{ method: 'GET', path: '/sms/*/jobs/' }, { method: 'GET', path: '/sms/*/outgoing' }],
      });
      srv.smsctlOk(['credential', 'validate', r.consumerKey]);
      const c = srv.sdk({ ...keys, consumerKey: r.consumerKey });
      assert.deepEqual(await c.requestPromised('GET', `/sms/${sn}/jobs`), []);
      assert.deepEqual(await c.requestPromised('GET', `/sms/${sn}/jobs/`), []);
      assert.deepEqual(await c.requestPromised('GET', `/sms/${sn}/outgoing/`), []);
      assert.equal((await sdkError(c.requestPromised('GET', '/sms'))).error, 403);
      assert.equal((await sdkError(c.requestPromised('GET', `/sms/${sn}`))).error, 403);
    });

    test('a refused consumer key is INVALID_CREDENTIAL', async () => {
      const r = await appOnly.requestPromised('POST', '/auth/credential',
        { accessRules: [{ method: 'GET', path: '/*' }] });
      srv.smsctlOk(['credential', 'validate', r.consumerKey]);
      const c = srv.sdk({ ...keys, consumerKey: r.consumerKey });
      assert.deepEqual(await c.requestPromised('GET', '/sms'), [sn]);
      srv.smsctlOk(['credential', 'refuse', r.consumerKey]);
      const x = await srv.raw({ path: '/sms', keys: { ...keys, consumerKey: r.consumerKey } });
      assertOvhError(x, 403, { errorCode: 'INVALID_CREDENTIAL' });
    });

    test('GET /auth/currentCredential describes the key (signed by hand)', async () => {
      // node 2.0.3 never signs paths containing /auth, so this one is signed by hand, with the
      // account's own key (its rules grant GET /auth/*).
      const r = await srv.raw({ path: '/auth/currentCredential', keys });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.status, 'validated');
      assert.ok(Array.isArray(r.json.rules));
      assert.ok(r.json.rules.some((x) => x.method === 'POST' && x.path === '/sms/*'), r.text);
      assert.ok(Number.isInteger(r.json.credentialId));
      assert.ok(Number.isInteger(r.json.applicationId));
    });

    test('allowedIPs restricts where a consumer key may be used from', async () => {
      const cases = [[['10.0.0.0/8'], 403], [['127.0.0.1/32'], 200], [['10.1.2.3', '127.0.0.0/8'], 200],
        [['::1/128'], 403]];
      for (const [ips, status] of cases) {
        const r = await appOnly.requestPromised('POST', '/auth/credential',
          { accessRules: [{ method: 'GET', path: '/sms' }], allowedIPs: ips });
        srv.smsctlOk(['credential', 'validate', r.consumerKey]);
        const x = await srv.raw({ path: '/sms', keys: { ...keys, consumerKey: r.consumerKey } });
        if (status === 200) assert.equal(x.status, 200, `allowedIPs ${ips}: ${x.text}`);
        else assertOvhError(x, 403, { errorCode: 'FORBIDDEN' });
      }
      const bad = await srv.raw({ method: 'POST', path: '/auth/credential', keys: { appKey: keys.appKey },
        body: { accessRules: [{ method: 'GET', path: '/sms' }], allowedIPs: ['not-an-ip'] } });
      assertOvhError(bad, 400, { message: /allowedIPs/ });
    });

    test('invalid credential requests are 400', async () => {
      for (const body of [{}, { accessRules: 'all' }, { accessRules: [{ method: 'PATCH', path: '/sms' }] },
        { accessRules: [{ method: 'GET', path: 'sms' }] },
        { accessRules: [{ method: 'GET', path: '/sms' }], redirection: 'nope' }]) {
        const r = await srv.raw({ method: 'POST', path: '/auth/credential', body,
          keys: { appKey: keys.appKey } });
        assertOvhError(r, 400);
      }
      const u = await srv.raw({ method: 'POST', path: '/auth/credential',
        body: { accessRules: [{ method: 'GET', path: '/sms' }] }, keys: { appKey: 'nobody' } });
      assertOvhError(u, 403, { errorCode: 'INVALID_KEY' });
    });

    test('smsctl credential validate on an unknown key fails with 404', () => {
      const r = srv.smsctl(['credential', 'validate', 'no-such-key']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /404/);
    });
  });

  describe('request validation', () => {
    const post = (body) => srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys, body });

    test('malformed JSON body: 400', async () => {
      for (const body of ['{"message": "x", ', '{message: x}', '[1,2', 'nul']) {
        const r = await post(body);
        assertOvhError(r, 400);
      }
      // A JSON value that is not an object.
      assertOvhError(await post('["message"]'), 400);
      assertOvhError(await post('"message"'), 400);
      // No body at all.
      assertOvhError(await srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys }), 400);
    });

    test('missing message: 400 naming \'message\'', async () => {
      const r = await post({ receivers: ['+33612345678'], senderForResponse: true });
      assertOvhError(r, 400, { message: /'message'/ });
      const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`,
        { receivers: ['+33612345678'], senderForResponse: true }));
      assert.equal(e.error, 400);
      assert.match(e.message, /message/);
      assertOvhError(await post({ message: '', receivers: ['+33612345678'] }), 400, { message: /'message'/ });
      assertOvhError(await post({ message: 42, receivers: ['+33612345678'] }), 400, { message: /'message'/ });
    });

    test('priority "urgent": 400 naming \'priority\'', async () => {
      const r = await post({ message: 'x', priority: 'urgent', receivers: ['+33612345678'], senderForResponse: true });
      assertOvhError(r, 400, { message: /'priority'/ });
      const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`,
        { message: 'x', priority: 'urgent', receivers: ['+33612345678'], senderForResponse: true }));
      assert.equal(e.error, 400);
      assert.match(e.message, /priority/);
    });

    test('other bad fields name themselves', async () => {
      const base = { message: 'x', receivers: ['+33612345678'], senderForResponse: true };
      const cases = [
        [{ receivers: undefined }, 'receivers'], [{ receivers: [] }, 'receivers'],
        [{ receivers: '+33612345678' }, 'receivers'], [{ receivers: [33612345678] }, 'receivers'],
        [{ senderForResponse: 'yes' }, 'senderForResponse'], [{ noStopClause: 1 }, 'noStopClause'],
        [{ validityPeriod: 0 }, 'validityPeriod'], [{ validityPeriod: 'long' }, 'validityPeriod'],
        [{ differedPeriod: -1 }, 'differedPeriod'], [{ coding: '16bit' }, 'coding'],
        [{ charset: 'latin1' }, 'charset'], [{ class: 'loud' }, 'class'],
        [{ tag: 'x'.repeat(1000) }, 'tag'], [{ message: 'x'.repeat(2000) }, 'message'],
      ];
      for (const [patch, name] of cases) {
        const r = await post({ ...base, ...patch });
        assertOvhError(r, 400, { message: new RegExp(`'?${name}'?`) });
      }
      // Nothing was stored or charged by any of them.
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`), []);
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 10);
    });

    test('null optional fields are accepted (php/python send them)', async () => {
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'nulls', receivers: ['+33612345600'], senderForResponse: true, noStopClause: true,
      });
      // The SDK drops nulls; send them by hand.
      const r = await post({ message: 'nulls', receivers: ['+33612345601'], senderForResponse: true,
        noStopClause: true, tag: null, sender: null, priority: null, differedPeriod: null });
      assert.equal(r.status, 200, r.text);
      for (const id of [...rep.ids, ...r.json.ids]) {
        await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
      }
    });

    test('unknown routes and methods: JSON 404 / 405', async () => {
      assertOvhError(await srv.raw({ path: '/nothing/here', keys }), 404);
      assertOvhError(await srv.raw({ target: '/2.0/sms', keys }), 404);
      assertOvhError(await srv.raw({ method: 'PATCH', path: `/sms/${sn}`, keys, body: {} }), 405);
      assertOvhError(await srv.raw({ method: 'DELETE', path: '/sms', keys }), 405);
      const e = await sdkError(client.requestPromised('GET', `/sms/${sn}/nothing`));
      assert.equal(e.error, 404);
    });

    test('the admin API refuses a missing or wrong token with a JSON 401', async () => {
      const n = await httpRequest({ port: srv.port, target: '/admin/health' });
      assertOvhError(n, 401);
      const w = await httpRequest({ port: srv.port, target: '/admin/accounts',
        headers: { Authorization: 'Bearer nope' } });
      assertOvhError(w, 401);
      assert.doesNotMatch(w.text, /auth-other-app|sms-auth-1/);
    });
  });

  describe('services: unknown, foreign, and out of credits', () => {
    let other, otherClient, otherSn, otherSent, otherPending;

    before(async () => {
      other = srv.createAccount('victim', 10);
      otherSn = other.serviceName;
      otherClient = srv.sdk(other);
      otherSent = (await otherClient.requestPromised('POST', `/sms/${otherSn}/jobs`, {
        message: 'SECRET-TEXT-OF-VICTIM', receivers: ['+33611112222'], senderForResponse: true, tag: 'victimtag',
      })).ids[0];
      otherPending = (await otherClient.requestPromised('POST', `/sms/${otherSn}/jobs`, {
        message: 'SECRET-PENDING', receivers: ['+33611113333'], senderForResponse: true, differedPeriod: 600,
      })).ids[0];
      await otherClient.requestPromised('POST', `/sms/${otherSn}/senders`,
        { sender: 'VictimCo', description: 'victim sender', reason: 'x' });
      await waitOutgoing(otherClient, otherSn, otherSent, (m) => m.deliveryReceipt === 1);
    });

    test('unknown service: 404', async () => {
      const e = await sdkError(client.requestPromised('GET', '/sms/sms-nobody-1'));
      assert.equal(e.error, 404);
      assertOvhError(await srv.raw({ path: '/sms/sms-nobody-1/outgoing', keys }), 404);
      assertOvhError(await srv.raw({ method: 'POST', path: '/sms/sms-nobody-1/jobs', keys,
        body: { message: 'x', receivers: ['+33612345678'] } }), 404);
    });

    test('another account\'s service: 404 everywhere, its data never returned', async () => {
      assert.deepEqual(await client.requestPromised('GET', '/sms'), [sn]);
      const secret = /SECRET|victim|VictimCo|\+3361111/i;
      const reqs = [
        { path: `/sms/${otherSn}` },
        { path: `/sms/${otherSn}/jobs` },
        { path: `/sms/${otherSn}/jobs/${otherPending}` },
        { path: `/sms/${otherSn}/outgoing` },
        { path: `/sms/${otherSn}/outgoing?tag=victimtag` },
        { path: `/sms/${otherSn}/outgoing/${otherSent}` },
        { path: `/sms/${otherSn}/senders` },
        { path: `/sms/${otherSn}/senders/VictimCo` },
        { method: 'PUT', path: `/sms/${otherSn}`, body: { description: 'pwned', callBack: 'https://evil.example/' } },
        { method: 'POST', path: `/sms/${otherSn}/jobs`, body: { message: 'x', receivers: ['+33612345678'], senderForResponse: true } },
        { method: 'POST', path: `/sms/${otherSn}/senders`, body: { sender: 'Evil', description: 'x', reason: 'x' } },
        { method: 'PUT', path: `/sms/${otherSn}/senders/VictimCo`, body: { status: 'disable' } },
        { method: 'DELETE', path: `/sms/${otherSn}/senders/VictimCo` },
        { method: 'DELETE', path: `/sms/${otherSn}/jobs/${otherPending}` },
        { method: 'DELETE', path: `/sms/${otherSn}/outgoing/${otherSent}` },
        // The other account's ids through our own service.
        { path: `/sms/${sn}/outgoing/${otherSent}` },
        { path: `/sms/${sn}/jobs/${otherPending}` },
        { method: 'DELETE', path: `/sms/${sn}/jobs/${otherPending}` },
        { method: 'DELETE', path: `/sms/${sn}/outgoing/${otherSent}` },
      ];
      for (const q of reqs) {
        const r = await srv.raw({ ...q, keys });
        assertOvhError(r, 404);
        assert.doesNotMatch(r.text, secret, `${q.method || 'GET'} ${q.path} leaked: ${r.text}`);
      }
      assert.ok(!(await client.requestPromised('GET', `/sms/${sn}/outgoing`)).includes(otherSent));
      // The victim's data is untouched.
      const a = await otherClient.requestPromised('GET', `/sms/${otherSn}`);
      assert.equal(a.description, '');
      assert.equal(a.callBack, null);
      assert.equal(a.creditsLeft, 8);
      assert.deepEqual(await otherClient.requestPromised('GET', `/sms/${otherSn}/jobs`), [otherPending]);
      assert.deepEqual(await otherClient.requestPromised('GET', `/sms/${otherSn}/outgoing`), [otherSent]);
      assert.deepEqual(await otherClient.requestPromised('GET', `/sms/${otherSn}/senders`), ['VictimCo']);
      assert.equal((await otherClient.requestPromised('GET', `/sms/${otherSn}/senders/VictimCo`)).status,
        'waitingValidation');
    });

    test('insufficient credits: 402 INSUFFICIENT_CREDITS and nothing stored', async () => {
      const poor = srv.createAccount('poor', 2);
      const pc = srv.sdk(poor);
      const psn = poor.serviceName;
      const first = await pc.requestPromised('POST', `/sms/${psn}/jobs`,
        { message: 'one', receivers: ['+33612345610'], senderForResponse: true, noStopClause: true });
      await waitOutgoing(pc, psn, first.ids[0], (m) => m.deliveryReceipt === 1);
      const jobsBefore = await pc.requestPromised('GET', `/sms/${psn}/jobs`);
      const outBefore = await pc.requestPromised('GET', `/sms/${psn}/outgoing`);
      const ledgerBefore = srv.ledger(psn);
      assert.equal((await pc.requestPromised('GET', `/sms/${psn}`)).creditsLeft, 1);

      // Two receivers for one credit left: all or nothing.
      const body = { message: 'two', receivers: ['+33612345611', '+33612345612'], senderForResponse: true,
        noStopClause: true };
      const r = await srv.raw({ method: 'POST', path: `/sms/${psn}/jobs`, keys: poor, body });
      assertOvhError(r, 402, { errorCode: 'INSUFFICIENT_CREDITS' });
      const e = await sdkError(pc.requestPromised('POST', `/sms/${psn}/jobs`, body));
      assert.equal(e.error, 402);
      // A long message (2 parts) to one receiver does not fit either.
      const l = await srv.raw({ method: 'POST', path: `/sms/${psn}/jobs`, keys: poor,
        body: { message: 'z'.repeat(200), receivers: ['+33612345613'], senderForResponse: true, noStopClause: true } });
      assertOvhError(l, 402, { errorCode: 'INSUFFICIENT_CREDITS' });
      // Differed: same.
      const d = await srv.raw({ method: 'POST', path: `/sms/${psn}/jobs`, keys: poor,
        body: { ...body, differedPeriod: 60 } });
      assertOvhError(d, 402, { errorCode: 'INSUFFICIENT_CREDITS' });

      assert.deepEqual(await pc.requestPromised('GET', `/sms/${psn}/jobs`), jobsBefore);
      assert.deepEqual(await pc.requestPromised('GET', `/sms/${psn}/outgoing`), outBefore);
      assert.equal((await pc.requestPromised('GET', `/sms/${psn}`)).creditsLeft, 1);
      assert.deepEqual(srv.ledger(psn), ledgerBefore);
      const rows = srv.sql(`SELECT COUNT(*) AS n FROM messages m JOIN services s ON s.id = m.service_id WHERE s.name = '${psn}'`);
      assert.equal(rows[0].n, 1);

      // Exactly the balance still works.
      const ok = await pc.requestPromised('POST', `/sms/${psn}/jobs`,
        { message: 'last', receivers: ['+33612345614'], senderForResponse: true, noStopClause: true });
      assert.equal(ok.creditsLeft, 0);
      await waitOutgoing(pc, psn, ok.ids[0], (m) => m.deliveryReceipt === 1);
      assertOvhError(await srv.raw({ method: 'POST', path: `/sms/${psn}/jobs`, keys: poor,
        body: { message: 'none left', receivers: ['+33612345615'], senderForResponse: true } }),
      402, { errorCode: 'INSUFFICIENT_CREDITS' });
      // smsctl service credit brings it back.
      const c = srv.smsctlOk(['service', 'credit', psn, '3', '--json']);
      assert.equal(c.json.creditsLeft, 3);
      const again = await pc.requestPromised('POST', `/sms/${psn}/jobs`,
        { message: 'again', receivers: ['+33612345616'], senderForResponse: true, noStopClause: true });
      assert.equal(again.creditsLeft, 2);
      const ledger = srv.ledger(psn);
      assert.equal(ledger.at(-1).balance, 2);
      assert.equal(ledger.reduce((a, x) => a + x.amount, 0), 2);
    });
  });
});
