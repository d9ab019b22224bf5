// Issue 12, point 7 and the rate limits (docs/api.md "Limits"): URLs handed out never come
// from the Host header; unsigned POST /auth/credential is limited per address; limits per
// application key (set per account by the operator) and per address answer 429 with OVH's
// error body and Retry-After, and recover after it; pending consumer keys expire.
import { test, describe, before, after } from './lib/test.mjs';
import assert from 'node:assert/strict';
import https from 'node:https';
import { startServer, assertOvhError, sleep, uniq } from './lib/harness.mjs';

describe('URLs handed out without --public-url', () => {
  let srv, keys;
  before(async () => {
    srv = await startServer();
    keys = srv.createAccount(uniq('host'), 100);
  });
  after(async () => { await srv.finish(); });

  test('Host: evil.example gives a validationUrl on the listener address', async () => {
    for (const tls of [false, true]) {
      const r = await srv.raw({ method: 'POST', path: '/auth/credential', tls,
        keys: { appKey: keys.appKey }, body: { accessRules: [{ method: 'GET', path: '/sms' }] },
        headers: { Host: 'evil.example' },
        // node checks the certificate against Host; the test certificate names 127.0.0.1.
        agent: tls ? new https.Agent({ checkServerIdentity: () => undefined }) : false });
      assert.equal(r.status, 200, r.text);
      const u = new URL(r.json.validationUrl);
      assert.equal(u.protocol, tls ? 'https:' : 'http:');
      assert.equal(u.host, `127.0.0.1:${tls ? srv.tlsPort : srv.port}`, r.json.validationUrl);
    }
  });

  test('Host: evil.example gives document putUrl and getUrl on the listener address', async () => {
    const target = '/1.0/me/document';
    // A client may still sign what it sent (Host is used to verify, never to build URLs).
    const r = await srv.raw({ method: 'POST', path: '/me/document', keys,
      body: { name: 'list.csv' }, headers: { Host: 'evil.example' },
      signUrl: `http://evil.example${target}` });
    assert.equal(r.status, 200, r.text);
    for (const f of ['putUrl', 'getUrl']) {
      const u = new URL(r.json[f]);
      assert.equal(u.host, `127.0.0.1:${srv.port}`, `${f}: ${r.json[f]}`);
      assert.equal(u.protocol, 'http:');
    }
  });

  test("Host: evil.example gives an order's url on the listener address", async () => {
    const target = `/1.0/order/sms/${keys.serviceName}/credits`;
    const r = await srv.raw({ method: 'POST', path: `/order/sms/${keys.serviceName}/credits`, keys,
      body: { quantity: 100 }, headers: { Host: 'evil.example' },
      signUrl: `http://evil.example${target}` });
    assert.equal(r.status, 200, r.text);
    assert.equal(new URL(r.json.url).host, `127.0.0.1:${srv.port}`, r.json.url);
  });
});

function assertLimited(res, { message = /^Too many requests/ } = {}) {
  assertOvhError(res, 429, { message });
  assert.equal(res.json.class, 'Client::TooManyRequests', res.text);
  assert.match(String(res.headers['retry-after']), /^[1-9][0-9]*$/, `Retry-After: ${res.headers['retry-after']}`);
  return Number(res.headers['retry-after']);
}

describe('rate limits with the default settings', () => {
  let srv, keys;
  before(async () => {
    srv = await startServer();
    keys = srv.createAccount(uniq('cred'), 100);
  });
  after(async () => { await srv.finish(); });

  test('200 unsigned POST /auth/credential from one address: most answer 429', { timeout: 60000 }, async () => {
    const statuses = [];
    let limited;
    for (let i = 0; i < 200; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => srv.raw({
        method: 'POST', path: '/auth/credential', keys: { appKey: keys.appKey },
        body: { accessRules: [{ method: 'GET', path: '/sms' }] } })));
      for (const r of batch) {
        statuses.push(r.status);
        if (r.status === 429) limited = r;
        else assert.equal(r.status, 200, r.text);
      }
    }
    const ok = statuses.filter((s) => s === 200).length;
    // credential-burst-per-address (20) at once, then 10 a minute.
    assert.ok(ok >= 20 && ok <= 22, `${ok} of 200 accepted`);
    const retry = assertLimited(limited);
    assert.ok(retry >= 1 && retry <= 6, `Retry-After ${retry}`);
    const rows = srv.sql("SELECT count(*) AS n FROM credentials WHERE state = 'pendingValidation'");
    assert.equal(rows[0].n, ok);
    // Signed calls of the same address are not limited by default.
    for (let i = 0; i < 50; i++) assert.equal((await srv.raw({ path: '/sms', keys })).status, 200);
  });
});

describe('a rate limit per application key set by the operator for one account', () => {
  let srv, a, b;
  before(async () => {
    srv = await startServer();
    a = srv.createAccount(uniq('lim'), 100);
    b = srv.createAccount(uniq('free'), 100);
  });
  after(async () => { await srv.finish(); });

  test('smsctl account set-limit / limit', () => {
    assert.match(srv.smsctlOk(['account', 'limit', a.account]).stdout, /rate default, burst default/);
    assert.match(srv.smsctlOk(['account', 'set-limit', a.account, '1', '3']).stdout, /rate 1, burst 3/);
    assert.deepEqual(srv.smsctlOk(['account', 'limit', a.account, '--json']).json,
      { account: a.account, rate: 1, burst: 3 });
    const bad = srv.smsctl(['account', 'set-limit', a.account, 'fast', '3']);
    assert.equal(bad.status, 2, bad.stderr);
    const none = srv.smsctl(['account', 'limit', 'no-such-account']);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /does not exist/);
  });

  test('that account gets 429 past its burst, another account is unaffected, and it recovers', { timeout: 30000 }, async () => {
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await srv.raw({ path: '/sms', keys: a }));
    assert.deepEqual(got.map((r) => r.status), [200, 200, 200, 429, 429, 429]);
    const retry = assertLimited(got[5]);
    assert.equal(retry, 1);
    // The other account, same address, same moment.
    for (let i = 0; i < 20; i++) assert.equal((await srv.raw({ path: '/sms', keys: b })).status, 200);
    // Through the SDK too: a 429 with the message.
    const e = await srv.sdk(a).requestPromised('GET', '/sms').then(() => null, (x) => x);
    assert.equal(e && e.error, 429);
    // After Retry-After the bucket has refilled (one request a second).
    await sleep(retry * 1000 + 50);
    const again = await srv.raw({ path: '/sms', keys: a });
    assert.equal(again.status, 200, again.text);
    assert.equal((await srv.raw({ path: '/sms', keys: a })).status, 429);
  });

  test('back to the server default (no limit) at once', async () => {
    srv.smsctlOk(['account', 'set-limit', a.account, 'default', 'default']);
    for (let i = 0; i < 20; i++) assert.equal((await srv.raw({ path: '/sms', keys: a })).status, 200);
  });
});

describe('a rate limit per client address', () => {
  let srv, keys;
  before(async () => {
    srv = await startServer({ args: ['--rate-limit-per-address=2', '--rate-limit-per-address-burst=5'] });
    keys = srv.createAccount(uniq('addr'), 100);
  });
  after(async () => { await srv.finish(); });

  test('past its burst an address gets 429 on every route; the operator does not', { timeout: 30000 }, async () => {
    await srv.raw({ path: '/auth/time' }); // raw() reads the server's clock once, first
    await sleep(2600); // the bucket is full again after the start-up probes
    const got = [];
    for (let i = 0; i < 8; i++) got.push(await srv.raw({ path: '/sms', keys }));
    assert.deepEqual(got.map((r) => r.status), [200, 200, 200, 200, 200, 429, 429, 429]);
    const retry = assertLimited(got[7]);
    assertLimited(await srv.raw({ path: '/auth/time' }));
    assertLimited(await srv.raw({ path: '/no/such/route' }));
    // The admin API with its token is not limited.
    srv.smsctlOk(['account', 'list']);
    await sleep(retry * 1000 + 50);
    assert.equal((await srv.raw({ path: '/auth/time' })).status, 200);
  });
});

describe('consumer keys requested and never validated expire', () => {
  let srv, keys;
  before(async () => {
    srv = await startServer({ args: ['--consumer-key-pending-ttl-s=1'] });
    keys = srv.createAccount(uniq('ttl'), 100);
  });
  after(async () => { await srv.finish(); });

  async function request() {
    const r = await srv.raw({ method: 'POST', path: '/auth/credential', keys: { appKey: keys.appKey },
      body: { accessRules: [{ method: 'GET', path: '/sms' }] } });
    assert.equal(r.status, 200, r.text);
    return r.json.consumerKey;
  }

  test('validated in time it works; too late it cannot be validated, then it is deleted', { timeout: 30000 }, async () => {
    const early = await request();
    const shown = srv.smsctlOk(['credential', 'show', early, '--json']).json;
    assert.equal(shown.status, 'pendingValidation');
    assert.ok(shown.validationDeadline);
    srv.smsctlOk(['credential', 'validate', early]);
    assert.equal((await srv.raw({ path: '/sms', keys: { ...keys, consumerKey: early } })).status, 200);

    const late = await request();
    await sleep(1300);
    assert.equal(srv.smsctlOk(['credential', 'show', late, '--json']).json.status, 'expired');
    const v = srv.smsctl(['credential', 'validate', late]);
    assert.equal(v.status, 1, v.stdout + v.stderr);
    assert.match(v.stderr, /expired/);
    assert.deepEqual(srv.sql(`SELECT state FROM credentials WHERE consumer_key = '${late}'`),
      [{ state: 'expired' }]);
    assertOvhError(await srv.raw({ path: '/sms', keys: { ...keys, consumerKey: late } }), 403,
      { errorCode: 'INVALID_CREDENTIAL' });
    // The validated key is not touched by the housekeeping; the expired request goes (at start,
    // then every minute).
    await srv.stop();
    await srv.restart();
    await waitGone(late);
    assert.equal(srv.sql(`SELECT state FROM credentials WHERE consumer_key = '${early}'`)[0].state,
      'validated');
  });

  async function waitGone(ck) {
    for (let i = 0; i < 100; i++) {
      if (srv.sql(`SELECT 1 FROM credentials WHERE consumer_key = '${ck}'`).length === 0) return;
      await sleep(50);
    }
    assert.fail(`consumer key ${ck} was not deleted`);
  }
});
