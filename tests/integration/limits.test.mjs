// Issue 12, point 7 and the rate limits (docs/api.md "Limits"): URLs handed out never come
// from the Host header; unsigned POST /auth/credential is limited per address; limits per
// application key (set per account by the operator) and per address answer 429 with OVH's
// error body and Retry-After, and recover after it; pending consumer keys expire.
import { test, describe, before, after } from 'node:test';
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
});
