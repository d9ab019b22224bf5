// The web console (docs/console.md, issue 16 point 3).
//
// Without a browser: its files are served from the binary with a strict Content-Security-Policy;
// logins give an HttpOnly, SameSite=Strict cookie (Secure on HTTPS) and a CSRF token; the API's
// own routes answer a session's calls, refuse changes without the token, refuse what the session
// may not call; logout ends the session on the server; --console=false turns it all off.
//
// In Debian's headless Chromium driven by puppeteer-core (the "Done when"): an operator
// logs in, approves a sender, creates an SMS user, sees an SMPP route's receipt latency on the
// routes page (the test SMSC's receipts, 150 ms after each submit); that user logs in, sends an
// SMS from the form and sees it turn delivered without a reload, uploads a CSV campaign and sees
// its progress reach 100 %, replays a dead callback; no error in the browser's console. A screenshot of every page
// is written to $SMSGATE_TEST_ARTIFACTS/console (default tests/tmp/artifacts/console). Skipped,
// saying so, only when no chromium binary exists (scripts/setup --tests installs it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { after, before, describe, test } from './lib/test.mjs';
import { ROOT, httpRequest, startServer, uniq, waitFor } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

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
    assert.deepEqual({ ...who.json, templates: undefined },
      { kind: 'operator', csrf: s.csrf, service: null, login: null, templates: undefined });
    assert.equal(typeof who.json.templates, 'boolean');

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

  test('a customer logs in as an SMS user and reaches its own service only, through the API\'s own rules', async () => {
    const op = new Session(srv);
    assert.equal((await op.login({ token: adminToken(srv) })).status, 200);
    const mine = (await op.req('POST', '/admin/accounts', { name: uniq('cust'), credits: 10 })).json.serviceName;
    const other = (await op.req('POST', '/admin/accounts', { name: uniq('other'), credits: 10 })).json.serviceName;
    const made = await op.req('POST', `/1.0/sms/${mine}/users`, { login: 'bob', password: 'pw-of-bob-1' });
    assert.equal(made.status, 200, made.text);

    const s = new Session(srv);
    const wrong = await s.login({ service: mine, login: 'bob', password: 'not-it' });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.json.message, 'Wrong login or password');
    assert.equal(wrong.headers['set-cookie'], undefined);
    const ok = await s.login({ service: mine, login: 'bob', password: 'pw-of-bob-1' });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual({ ...ok.json, csrf: undefined, templates: undefined },
      { kind: 'customer', csrf: undefined, service: mine, login: 'bob', templates: undefined });
    // "service/login" without a service, as for the other ways in (users.c).
    const alt = new Session(srv);
    assert.equal((await alt.login({ login: `${mine}/bob`, password: 'pw-of-bob-1' })).status, 200);

    assert.equal((await s.req('GET', `/1.0/sms/${mine}`)).json.creditsLeft, 10);
    for (const [method, target, body] of [['GET', `/1.0/sms/${other}`], ['GET', '/admin/accounts'],
      ['GET', `/admin/services/${mine}/callback-secret`], ['GET', `/admin/services/${other}/callbacks`],
      ['GET', `/1.0/order/sms/${other}/credits?quantity=100`], ['GET', '/1.0/sms'],
      ['GET', `/admin/services/${mine}/senders`], ['GET', `/1.0/sms/${mine}/users`],
      ['GET', `/1.0/sms/${mine}/users/bob`], ['GET', `/1.0/sms/${mine}/users/bob/outgoing`],
      ['PUT', `/1.0/sms/${mine}/users/bob`, { quotaInformations: { quotaStatus: 'inactive' } }],
      ['POST', `/1.0/sms/${mine}/users`, { login: 'eve', password: 'eve-pass-1' }]]) {
      const res = await s.req(method, target, body);
      assert.equal(res.status, 403, `${method} ${target}: ${res.text}`);
      assert.equal(res.json.errorCode, 'NOT_GRANTED_CALL');
    }
    assert.equal((await s.req('GET', `/admin/services/${mine}/callbacks?state=dead`)).status, 200);
    // Receivers slots are the service's (receivers.c reads a user's own from /users/{login}/).
    assert.deepEqual((await s.req('GET', `/1.0/sms/${mine}/receivers`)).json, []);
    const slot = await s.req('GET', `/1.0/sms/${mine}/receivers/1`);
    assert.equal(slot.status, 404);
    assert.equal(slot.json.message, 'The receivers slot 1 does not exist');
    assert.equal((await s.req('GET', `/1.0/order/sms/${mine}/credits?quantity=100`)).status, 200);

    // A send from a session is the SMS user's: marked as its, and its quota applies.
    const sent = await s.req('POST', `/1.0/sms/${mine}/jobs`, { message: 'hi', receivers: ['+33611112222'],
      senderForResponse: true, noStopClause: true });
    assert.equal(sent.status, 200, sent.text);
    const [id] = sent.json.ids;
    assert.deepEqual(srv.sql(`SELECT u.login AS login FROM messages m JOIN sms_users u ON u.id = m.user_id WHERE m.id = ${id}`),
      [{ login: 'bob' }]);
    const q = await op.req('PUT', `/1.0/sms/${mine}/users/bob`,
      { quotaInformations: { quotaStatus: 'active', quotaLeft: 1 } });
    assert.equal(q.status, 200, q.text);
    const over = await s.req('POST', `/1.0/sms/${mine}/jobs`, { message: 'hi', receivers: ['+33611112222', '+33611113333'],
      senderForResponse: true, noStopClause: true });
    assert.equal(over.status, 402, over.text);
    assert.equal(over.json.errorCode, 'INSUFFICIENT_QUOTA');
    // A campaign cannot take a quota yet (send.c): refused for a user with one...
    const tmpl = await s.req('POST', `/1.0/sms/${mine}/jobs`, { message: 'hi #name#', receiversSlotId: '1',
      senderForResponse: true });
    assert.equal(tmpl.status, 400, tmpl.text);
    assert.match(tmpl.json.message, /an SMS user sends to a list of receivers/);
    // ... and the service's for a user without one (here: no slot 1, the campaign's own 400).
    await op.req('PUT', `/1.0/sms/${mine}/users/bob`, { quotaInformations: { quotaStatus: 'inactive' } });
    const svcTmpl = await s.req('POST', `/1.0/sms/${mine}/jobs`, { message: 'hi #name#', receiversSlotId: '1',
      senderForResponse: true });
    assert.equal(svcTmpl.status, 400, svcTmpl.text);
    assert.doesNotMatch(svcTmpl.json.message, /an SMS user/);
    assert.match(svcTmpl.json.message, /receiversSlotId/);
  });

  test('a changed password or a deleted SMS user ends its console sessions within seconds', async () => {
    const op = new Session(srv);
    assert.equal((await op.login({ token: adminToken(srv) })).status, 200);
    const sn = (await op.req('POST', '/admin/accounts', { name: uniq('end'), credits: 1 })).json.serviceName;
    for (const login of ['carol', 'dave'])
      assert.equal((await op.req('POST', `/1.0/sms/${sn}/users`, { login, password: 'first-pw-1' })).status, 200);
    const carol = new Session(srv);
    const dave = new Session(srv);
    assert.equal((await carol.login({ service: sn, login: 'carol', password: 'first-pw-1' })).status, 200);
    assert.equal((await dave.login({ service: sn, login: 'dave', password: 'first-pw-1' })).status, 200);
    assert.equal((await carol.req('GET', `/1.0/sms/${sn}`)).status, 200);
    assert.equal((await op.req('PUT', `/1.0/sms/${sn}/users/carol`, { password: 'second-pw-2' })).status, 200);
    assert.equal((await op.req('DELETE', `/1.0/sms/${sn}/users/dave`)).status, 200);
    const t0 = Date.now();
    await waitFor(async () => (await carol.req('GET', `/1.0/sms/${sn}`)).status === 401,
      { what: 'carol\'s session ended', timeoutMs: 8000, intervalMs: 250 });
    await waitFor(async () => (await dave.req('GET', `/1.0/sms/${sn}`)).status === 401,
      { what: 'dave\'s session ended', timeoutMs: 8000, intervalMs: 250 });
    assert.ok(Date.now() - t0 < 7000, `${Date.now() - t0} ms`);
    assert.equal((await carol.req('GET', '/console/session')).json, null);
    // The new password opens a new session.
    const again = new Session(srv);
    assert.equal((await again.login({ service: sn, login: 'carol', password: 'second-pw-2' })).status, 200);
    assert.equal((await again.req('GET', `/1.0/sms/${sn}`)).status, 200);
  });

  test('a customer login names its fields; a body without a token is a customer login', async () => {
    const s = new Session(srv);
    const res = await s.login({ login: 'nobody' });
    assert.equal(res.status, 400);
    assert.equal(res.json.message, "Missing parameter 'password'");
  });
});

describe('console behind a TLS front', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--public-url', 'https://sms.example.com'] }); });
  after(async () => { await srv?.finish(); });

  test('a public-url in https makes the cookie Secure on the plain listener too', async () => {
    const s = new Session(srv);
    assert.equal((await s.login({ token: adminToken(srv) })).status, 200);
    assert.match(s.setCookie, /; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
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

// ---- in a real browser ----------------------------------------------------------------------

// An HTTP server for status callbacks, answering what status() says.
function callbackReceiver(status) {
  const hits = [];
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const code = status();
    hits.push({ id: Number(u.searchParams.get('id')), dlr: Number(u.searchParams.get('dlr')), code });
    res.writeHead(code, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    hits, url: `http://127.0.0.1:${srv.address().port}/status`,
    close: () => { srv.closeAllConnections(); return new Promise((r) => srv.close(r)); },
  })));
}

describe('console in headless Chromium', { skip: CHROMIUM ? false
  : 'no chromium binary (/usr/bin/chromium): install Debian\'s chromium (scripts/setup --tests) or set SMSGATE_CHROMIUM' }, () => {
  let srv, browser, page, rcv, smsc, receiverUp = false;
  const errors = [];
  const S = {}; // what the operator's test leaves to the customer's
  let shot = 0;

  // Saves a screenshot of the whole page as NN-name.png under ARTIFACTS.
  async function screenshot(name, { fullPage = true } = {}) {
    shot++;
    const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage });
    return file;
  }
  async function go(hash, selector) {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForSelector(selector, { visible: true });
  }
  const text = (selector) => page.$eval(selector, (e) => e.textContent);
  async function waitText(selector, re, timeout = 20000) {
    await page.waitForFunction((sel, src) => {
      const e = document.querySelector(sel);
      return e && new RegExp(src).test(e.textContent);
    }, { timeout, polling: 100 }, selector, re.source);
  }
  async function type(selector, value) {
    await page.$eval(selector, (e) => { e.value = ''; });
    await page.type(selector, value);
  }

  before(async () => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    srv = await startServer({ args: ['--callback-retry-s', '1', '--callback-backoff-ms', '100',
      '--callback-backoff-max-ms', '300'] });
    srv.expectLog(/WARN notify: Callback \d+ .* goes to the dead-letter list/);
    rcv = await callbackReceiver(() => (receiverUp ? 200 : 503));
    // An SMPP route to the test SMSC for +33699...: its receipts (150 ms after each submit's
    // answer) give the routes page a receipt latency to show.
    smsc = await new Smsc({ systemId: 'console-lat', receiptDelayMs: 150 }).start();
    srv.smsctlOk(['route', 'add', 'op-lat', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', 'console-lat',
      '--prefix', '+33699']);
    const { default: puppeteer } = await import('puppeteer-core');
    browser = await puppeteer.launch({
      executablePath: CHROMIUM, headless: true,
      userDataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-chromium-')),
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
        '--disable-background-networking', '--disable-component-update'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 800 });
    page.setDefaultTimeout(20000);
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
  }, { timeout: 60000 });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      await rcv?.close();
      await srv?.finish();
      await smsc?.stop();
    }
  });

  test('an operator logs in, approves a sender, creates an SMS user; the pages work', { timeout: 120000 }, async () => {
    const keys = srv.createAccount(uniq('shop'), 50);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender: 'SHOPTEST', reason: 'our brand' });

    await page.goto(`http://127.0.0.1:${srv.port}/console/`);
    await page.waitForSelector('#operator-login');
    await screenshot('login');
    await page.type('#operator-login input[type=password]', adminToken(srv));
    await page.click('#operator-login button[type=submit]');
    await page.waitForSelector('#accounts-list table');
    await waitText('#accounts-list', new RegExp(sn));
    await screenshot('operator-accounts');
    // A reload keeps the session (the cookie), and the page asks who is logged in.
    await page.reload();
    await page.waitForSelector('#accounts-list table');
    assert.equal(await text('#who'), 'operator');

    await go('#/approvals', '#approvals-list');
    const approve = await page.waitForSelector('button[aria-label="Approve SHOPTEST"]');
    await screenshot('operator-approvals');
    await approve.click();
    await page.waitForSelector('#no-approvals');
    const sender = await client.requestPromised('GET', `/sms/${sn}/senders/SHOPTEST`);
    assert.equal(sender.status, 'enable');
    // Message templates, moderated the same way, in a build that has them (branch ops).
    const templates = (await page.evaluate(() => fetch('/console/session').then((r) => r.json()))).templates;
    if (templates) {
      await client.requestPromised('POST', `/sms/${sn}/templatesControl`, { name: 'otp',
        activity: 'authentification', message: 'Your code is #code#', description: 'login codes' });
      const ok = await page.waitForSelector('button[aria-label="Approve template otp"]');
      await ok.click();
      await page.waitForSelector('#no-template-approvals');
      assert.equal((await client.requestPromised('GET', `/sms/${sn}/templatesControl/otp`)).status, 'enable');
    } else {
      await waitText('#template-approvals', /no message templates/);
    }

    // Three SMS through the SMPP route, delivered by the SMSC's receipts: the routes page shows
    // their receipt latency (GET /admin/route-status' receiptLatency) next to the route.
    const latKeys = srv.createAccount(uniq('latency'), 20);
    const latClient = srv.sdk(latKeys);
    const latIds = [];
    for (let i = 0; i < 3; i++) {
      const rep = await latClient.requestPromised('POST', `/sms/${latKeys.serviceName}/jobs`, {
        message: `latency ${i}`, receivers: [`+3369900000${i}`], senderForResponse: true, noStopClause: true });
      latIds.push(...rep.ids);
    }
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE id IN (${latIds.join(',')}) AND dlr = 1`)[0].n === 3,
      { timeoutMs: 20000, what: '3 SMS delivered through op-lat' });
    assert.equal(smsc.submits.length, 3, 'the three went to the SMSC');

    await go('#/routes', '#routes-list table');
    await waitText('#routes-list', /sim/);
    await waitText('#routes-list', /3 receipts/);
    const cells = await page.$$eval('#routes-list tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    const head = await page.$$eval('#routes-list thead th', (th) => th.map((h) => h.textContent));
    const col = head.indexOf('Receipt latency');
    assert.ok(col > 0, head.join('|'));
    const opLat = cells.find((c) => c[0].startsWith('op-lat'));
    const sim = cells.find((c) => c[0].startsWith('sim'));
    assert.match(opLat[col], /^median \d+(\.\d)? (ms|s|min), p95 \d+(\.\d)? (ms|s|min)3 receipts$/, opLat[col]);
    assert.equal(sim[col], '—', 'the sim route has no receipts to time');
    // the numbers are the API's
    const st = (await page.evaluate(() => fetch('/admin/route-status').then((r) => r.json())))
      .find((r) => r.name === 'op-lat').receiptLatency;
    assert.equal(st.count, 3);
    assert.ok(st.medianMs >= 100 && st.p95Ms >= st.medianMs, JSON.stringify(st));
    if (st.p95Ms < 1000) assert.ok(opLat[col].startsWith(`median ${st.medianMs} ms, p95 ${st.p95Ms} ms`), opLat[col]);
    await screenshot('operator-routes');
    await go('#/nodes', '#nodes-list table');
    await screenshot('operator-nodes');
    await go('#/admin-orders', '#orders-list p, #orders-list table');
    await screenshot('operator-orders');
    await go('#/prices', '#prices-list table');
    await screenshot('operator-prices', { fullPage: false });

    // The SMS user the customer logs in with, created on the accounts page.
    await go('#/accounts', '#user-form');
    await page.select('#user-service', sn);
    await page.type('#user-login', 'alice');
    await page.type('#user-password', 'correct horse 42');
    await page.click('#user-form button[type=submit]');
    await waitText('#accounts-list', /alice/);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/users`), ['alice']);
    S.sn = sn;
    S.client = client;

    const cookie = (await page.cookies()).find((c) => c.name === 'smsgate_session');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'invisible to scripts');
    await page.click('#logout');
    await page.waitForSelector('#customer-login');
    const res = await httpRequest({ port: srv.port, target: '/admin/accounts',
      headers: { Cookie: `smsgate_session=${cookie.value}` } });
    assert.equal(res.status, 401, 'the session is over on the server');
  });

  test('the SMS user logs in, sends an SMS and sees it delivered, runs a campaign to 100 %, replays a dead callback',
    { timeout: 180000 }, async () => {
      const { sn, client } = S;
      assert.ok(sn, 'the operator test ran');
      // By keyboard: the first field has the focus after a click, Tab moves, Enter submits.
      await page.click('#customer-login input[name=login]');
      await page.keyboard.type('alice');
      await page.keyboard.press('Tab');
      await page.keyboard.type('correct horse 42');
      await page.keyboard.press('Tab');
      await page.keyboard.type(sn);
      await page.keyboard.press('Enter');
      await waitText('#credits', /^\d+$/);
      assert.equal(await text('#who'), `alice · ${sn}`);
      await screenshot('customer-overview');

      // Status callbacks go to a receiver answering 503 for now: they will go dead.
      await go('#/callbacks', 'input[name=callBack]');
      await type('input[name=callBack]', rcv.url);
      await page.click('input[name=callBack] ~ button[type=submit]');
      await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}`)).callBack === rcv.url,
        { what: 'the callBack saved' });

      // One SMS from the form: parts, encoding and price shown as one types.
      await go('#/send', '#send-form');
      await page.waitForSelector('select[name=sender] option[value=SHOPTEST]');
      await page.type('input[name=receivers]', '+33612345678');
      await page.type('textarea[name=message]', 'Hello from the console');
      await waitText('#estimate', /22 characters · GSM 7-bit · 1 part .*· 1 credit for 1 receiver/);
      await page.type('textarea[name=message]', ' — ok ✓');
      await waitText('#estimate', /Unicode \(UCS-2\) · 1 part/);
      await page.select('select[name=sender]', 'SHOPTEST');
      await page.evaluate(() => { window.notReloaded = true; });
      await page.click('#send-form button[type=submit]');
      await page.waitForSelector('[id^=status-]');
      const id = Number((await page.$eval('[id^=status-]', (e) => e.id)).slice(7));
      await waitText(`#status-${id}`, /^delivered$/);
      assert.equal(await page.evaluate(() => window.notReloaded), true, 'no reload');
      await screenshot('customer-send');
      const sms = await client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`);
      assert.equal(sms.sender, 'SHOPTEST');
      assert.equal(sms.receiver, '+33612345678');
      assert.equal(sms.message, 'Hello from the console — ok ✓');
      assert.deepEqual(srv.sql(`SELECT u.login AS login FROM messages m JOIN sms_users u ON u.id = m.user_id WHERE m.id = ${id}`),
        [{ login: 'alice' }], 'sent as the SMS user');

      // A campaign from a CSV file, followed to 100 %.
      const csv = path.join(srv.dir, 'customers.csv');
      fs.writeFileSync(csv, 'number;name\n' + [1, 2, 3, 4, 5].map((i) => `+3361111110${i};Client${i}`).join('\n') + '\n');
      await go('#/campaigns', '#campaign-form');
      const input = await page.$('input[name=csv]');
      await input.uploadFile(csv);
      await page.type('textarea[name=message]', 'Hi #name#');
      await type('input[name=tag]', 'spring');
      await page.click('#campaign-form button[type=submit]');
      await page.waitForSelector('#campaign-bar');
      await waitText('#campaign-percent', /^100 %$/, 30000);
      await screenshot('customer-campaign');
      const stats = await client.requestPromised('GET', `/sms/${sn}/tags/spring/statistics`);
      assert.equal(stats.total, 5);
      assert.equal(stats.delivered, 5);
      const rendered = srv.sql(`SELECT message FROM messages WHERE tag = 'spring' ORDER BY receiver`);
      assert.equal(rendered[0].message, 'Hi Client1');

      // The callbacks went dead; the receiver is fixed; the user replays them from the console.
      const dead = await waitFor(() => {
        const pending = srv.smsctlOk(['callbacks', 'list', sn, '--state', 'pending', '--json']).json;
        const d = srv.smsctlOk(['callbacks', 'list', sn, '--state', 'dead', '--json']).json;
        return pending.length === 0 && d.some((c) => c.messageId === id && c.deliveryReceipt === 1) && d;
      }, { what: 'every callback dead, the SMS\'s delivery one among them', timeoutMs: 30000, intervalMs: 200 });
      await go('#/callbacks', '#dead-callbacks');
      await waitText('#replay-all', new RegExp(`^Replay all ${dead.length}$`));
      await screenshot('customer-callbacks-dead');
      receiverUp = true;
      await page.click('#replay-all');
      await page.waitForSelector('#no-dead', { timeout: 30000 });
      await waitFor(() => rcv.hits.some((h) => h.id === id && h.dlr === 1 && h.code === 200),
        { what: 'the replayed delivery callback answered 200', timeoutMs: 15000 });

      // The SMS's timeline: accepted, submitted, delivered, and its callbacks with their answers.
      await go('#/outgoing', '#outgoing-list table');
      await page.click(`button[aria-label="Timeline of SMS ${id}"]`);
      await page.waitForSelector('#timeline');
      await waitText('#timeline', /Accepted: .*Submitted to the operator: .*Delivered \(receipt\)/s);
      await waitText('#timeline', /Callback \(deliveryReceipt 1\): delivered, \d+ attempts?, last answer HTTP 200/);
      await screenshot('customer-outgoing');

      await go('#/replies', '#replies-list p, #replies-list table');
      await screenshot('customer-replies');
      await go('#/senders', '#senders-list table');
      await waitText('#senders-list', /SHOPTEST.*enable/);
      await screenshot('customer-senders');
      await go('#/orders', '#quote');
      await waitText('#quote', /Price: /);
      const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
      await page.click('#quote ~ button[type=submit]');
      await waitText('#order-result', /^Order \d+ created: waiting for payment\.$/);
      const orderId = Number((await text('#order-result')).match(/\d+/)[0]);
      await page.select('select[name=automaticRecreditAmount]', '500');
      await type('input[name=creditThresholdForAutomaticRecredit]', '10');
      await page.click('#topup-form button[type=submit]');
      await waitFor(async () => {
        const v = await client.requestPromised('GET', `/sms/${sn}`);
        return v.automaticRecreditAmount === 500 && v.creditThresholdForAutomaticRecredit === 10;
      }, { what: 'the top-up settings saved' });
      await screenshot('customer-orders');
      // Readable on a phone screen.
      await page.setViewport({ width: 390, height: 844, isMobile: true });
      await go('#/overview', '#credits');
      await waitText('#credits', /^\d+$/);
      await screenshot('customer-phone');


      // The operator pays the order: the credits arrive.
      await page.setViewport({ width: 1100, height: 800 });
      await page.click('#logout');
      await page.waitForSelector('#operator-login');
      await page.type('#operator-login input[type=password]', adminToken(srv));
      await page.click('#operator-login button[type=submit]');
      await page.waitForSelector('#accounts-list table');
      await go('#/admin-orders', '#orders-list table');
      const pay = await page.waitForSelector(`button[aria-label="Pay order ${orderId}"]`);
      await pay.click();
      await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft === before + 100,
        { what: 'the paid credits' });
      await page.waitForFunction((id) => !document.querySelector(`button[aria-label="Pay order ${id}"]`), {}, orderId);

      assert.deepEqual(errors, [], 'no error in the browser console');
    });
});
