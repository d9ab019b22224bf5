// gateways.test.mjs - the ways of sending with an SMS user's login and password in a plain URL
// (issue 15 points 3 and 4; docs/api.md "http2sms", docs/migrating-from-kannel.md):
//   * http2sms: the requests of OVH's http2sms guide (the mandatory fields, then the optional
//     ones: two receivers, deferred, class, smsCoding, noStop), GET and POST, every contentType
//     (text/plain, text/xml, application/xml, text/json, application/json, text/html), and
//     every error status in each (201 missing, 202 invalid, 241 sender not found, 401 wrong
//     password);
//   * Kannel's sendsms: the requests of Kannel's user guide (GET with username, password, to,
//     text; several receivers separated by '+'; POST as a form), its answers (202 "0: Accepted
//     for delivery", "3: Queued for later delivery", 403, 400), and dlr-url with its escapes
//     called for each event of dlr-mask, for a delivered SMS and for failed ones (the sim's
//     numbers ending 901 and 902), durably (notify_calls) and once each.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { httpRequest, sleep, startServer, uniq, waitFor } from './lib/harness.mjs';

const PASSWORD = 'Correct-Horse-7';

// An HTTP server recording every request (the dlr-url's receiver).
// Requests whose tag is in failFirst get 500 that many times first.
class Sink {
  constructor() { this.hits = []; this.failFirst = {}; }
  async start() {
    this.srv = http.createServer((req, res) => {
      const params = Object.fromEntries(new URL(req.url, 'http://x').searchParams);
      let status = 200;
      if (this.failFirst[params.tag] > 0) {
        this.failFirst[params.tag]--;
        status = 500;
      }
      this.hits.push({ url: req.url, params, status });
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }
  url(path) { return `http://127.0.0.1:${this.port}${path}`; }
  of(tag) { return this.hits.filter((h) => h.params.tag === tag && h.status === 200); }
  async close() {
    this.srv.closeAllConnections();
    await new Promise((r) => this.srv.close(r));
  }
}

// An account with credits, an approved sender and an SMS user; its SDK client.
async function setup(srv, { sender = 'MyShop', login = uniq('team').slice(0, 20) } = {}) {
  const keys = srv.createAccount(uniq('gw'), 100);
  const sn = keys.serviceName;
  const client = srv.sdk(keys);
  await client.requestPromised('POST', `/sms/${sn}/senders`,
    { sender, description: 'gateways', reason: 'tests' });
  srv.smsctlOk(['sender', 'approve', sn, sender]);
  await client.requestPromised('POST', `/sms/${sn}/users`, { login, password: PASSWORD });
  return { keys, sn, client, login, sender };
}

function get(srv, path, params) {
  const qs = typeof params === 'string' ? params : new URLSearchParams(params).toString();
  return httpRequest({ port: srv.port, target: `${path}?${qs}` });
}

function postForm(srv, path, params) {
  const body = new URLSearchParams(params).toString();
  return httpRequest({ port: srv.port, method: 'POST', target: path, body,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded',
      'Content-Length': Buffer.byteLength(body) } });
}

const H2S = '/cgi-bin/sms/http2sms.cgi';

// The pieces of an http2sms answer, whatever its format.
function readH2s(res, contentType = 'text/plain') {
  assert.equal(res.status, 200, res.text);
  const t = res.text;
  if (/json/.test(contentType)) {
    assert.match(res.headers['content-type'], /application\/json/);
    const j = JSON.parse(t);
    return { status: j.status, credits: j.creditLeft, ids: j.SmsIds, message: j.message };
  }
  if (/xml/.test(contentType)) {
    assert.match(res.headers['content-type'], /text\/xml/);
    assert.match(t, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<response>/);
    const one = (tag) => (t.match(new RegExp(`<${tag}>(.*?)</${tag}>`, 's')) || [])[1];
    return { status: Number(one('status')), credits: one('creditLeft'),
      ids: [...t.matchAll(/<smsId>(.*?)<\/smsId>/g)].map((m) => m[1]), message: one('message') };
  }
  let lines;
  if (/html/.test(contentType)) {
    assert.match(res.headers['content-type'], /text\/html/);
    const body = t.match(/<BODY>(.*)<\/BODY>/s)[1];
    lines = body.split(/<br>/).map((l) => l.trim()).filter((l) => l.length);
  } else {
    assert.match(res.headers['content-type'], /text\/plain/);
    lines = t.trim().split('\n');
  }
  if (lines[0] === 'OK') return { status: 100, credits: lines[1], ids: lines.slice(2) };
  assert.equal(lines[0], 'KO');
  const m = lines[1].match(/^(\d{3}) (.*)$/);
  return { status: Number(m[1]), message: m[2] };
}

describe('http2sms', () => {
  let srv, acc;

  before(async () => {
    // every contentType's test gives a wrong password once: more than the default allows in a
    // minute (user-auth-failures; a refusal for too many failures is a 401 too)
    srv = await startServer({ args: ['--user-auth-failures', '100'] });
    acc = await setup(srv);
  });
  after(async () => { await srv?.finish(); });

  test('the guide\'s mandatory fields: GET, text/plain, a line break with %0d', async () => {
    const { sn, login, client } = acc;
    // written as OVH's guide writes it: a leading '&', every field in the query
    const target = `${H2S}?&account=${sn}&login=${login}&password=${PASSWORD}&from=MyShop`
      + '&to=%2B33612345678&message=Hello%0dWorld';
    const res = await httpRequest({ port: srv.port, target });
    assert.equal(res.status, 200);
    assert.match(res.text, /^OK\n\d+(\.\d+)?\n\d+\n$/);
    const a = readH2s(res);
    assert.equal(a.ids.length, 1);
    const sms = await client.requestPromised('GET', `/sms/${sn}/outgoing/${a.ids[0]}`)
      .catch(() => client.requestPromised('GET', `/sms/${sn}/jobs/${a.ids[0]}`));
    assert.equal(sms.sender, 'MyShop');
    assert.equal(sms.receiver, '+33612345678');
    assert.match(sms.message, /^Hello\nWorld/);
    const svc = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(Number(a.credits), svc.creditsLeft);
    // the guide writes to=+44xxxxxxxxx unencoded: the '+' (a space once decoded) is kept
    const raw = await httpRequest({ port: srv.port, target: `${H2S}?account=${sn}&login=${login}`
      + `&password=${PASSWORD}&from=MyShop&to=+33612345678,+33698765432&message=raw` });
    const b = readH2s(raw);
    assert.equal(b.ids.length, 2);
    const rows = srv.sql(`SELECT receiver FROM messages WHERE id IN (${b.ids.join(',')}) ORDER BY id`);
    assert.deepEqual(rows.map((r) => r.receiver), ['+33612345678', '+33698765432']);
  });

  test('the guide\'s optional fields: two receivers, deferred, class, smsCoding, noStop', async () => {
    const { sn, login, client } = acc;
    const when = new Date(Date.now() + 3 * 86400e3);
    // deferred is French time: write the date as Paris sees it
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', year: 'numeric',
      month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(when).reduce((o, p) => ({ ...o, [p.type]: p.value }), {});
    const deferred = `${paris.hour}${paris.minute}${paris.day}${paris.month}${paris.year}`;
    const res = await get(srv, H2S, { account: sn, login, password: PASSWORD, from: 'MyShop',
      to: '+33612345678,+33698765432', message: 'Rendez-vous demain', deferred, class: '1',
      smsCoding: '1', noStop: '1', tag: 'rdv', contentType: 'text/json' });
    const a = readH2s(res, 'text/json');
    assert.equal(a.status, 101); // accepted for later
    assert.equal(a.ids.length, 2);
    for (const id of a.ids) {
      const job = await client.requestPromised('GET', `/sms/${sn}/jobs/${id}`);
      assert.equal(job.message, 'Rendez-vous demain'); // noStop: no STOP mention
      const due = Math.floor(when.getTime() / 60000) * 60000;
      const rows = srv.sql(`SELECT due_ms, tag, class, state FROM messages WHERE id = ${id}`);
      assert.equal(rows[0].due_ms, due);
      assert.equal(rows[0].tag, 'rdv');
      assert.equal(rows[0].class, 1); // phoneDisplay
      assert.equal(rows[0].state, 0); // scheduled
    }
  });

  test('a deferred date in the past sends at once; a date that is not one is 202', async () => {
    const { sn, login } = acc;
    const base = { account: sn, login, password: PASSWORD, from: 'MyShop', to: '+33612345678',
      message: 'x' };
    assert.equal(readH2s(await get(srv, H2S, { ...base, deferred: '120001012020' })).status, 100);
    const bad = readH2s(await get(srv, H2S, { ...base, deferred: '253001012020' }));
    assert.equal(bad.status, 202);
    assert.match(bad.message, /deferred/);
  });

  for (const contentType of ['text/plain', 'text/xml', 'application/xml', 'text/json',
    'application/json', 'text/html']) {
    test(`contentType ${contentType}: success and every error status`, async () => {
      const { sn, login } = acc;
      const base = { account: sn, login, password: PASSWORD, from: 'MyShop',
        to: '+33612345678', message: 'hello', contentType };
      const ok = readH2s(await get(srv, H2S, base), contentType);
      assert.equal(ok.status, 100);
      assert.equal(ok.ids.length, 1);
      assert.match(ok.ids[0], /^\d+$/);
      assert.match(ok.credits, /^\d+(\.\d+)?$/);

      const { message: _m, ...noMessage } = base;
      const missing = readH2s(await get(srv, H2S, noMessage), contentType);
      assert.equal(missing.status, 201);
      assert.match(missing.message, /message/);

      const invalid = readH2s(await get(srv, H2S, { ...base, class: '7' }), contentType);
      assert.equal(invalid.status, 202);
      assert.match(invalid.message, /class/);

      const sender = readH2s(await get(srv, H2S, { ...base, from: 'Unknown' }), contentType);
      assert.equal(sender.status, 241);

      const auth = readH2s(await get(srv, H2S, { ...base, password: 'wrong' }), contentType);
      assert.equal(auth.status, 401);
    });
  }

  test('POST as a form, and the error answers escape what the client wrote', async () => {
    const { sn, login } = acc;
    const res = await postForm(srv, H2S, { account: sn, login, password: PASSWORD,
      from: 'MyShop', to: '+33612345678', message: 'posted', contentType: 'text/json' });
    const a = readH2s(res, 'text/json');
    assert.equal(a.status, 100);
    assert.equal(a.ids.length, 1);
    const xml = await get(srv, H2S, { account: sn, login, password: PASSWORD,
      from: '<b>&', to: '+33612345678', message: 'x', contentType: 'text/xml' });
    assert.doesNotMatch(xml.text, /<b>&/);
    const bad = readH2s(xml, 'text/xml');
    assert.equal(bad.status, 202); // not a sender's form at all
    assert.match(bad.message, /from/);
    assert.match(xml.text, /&lt;b&gt;&amp;/);
  });

  test('senderForResponse=1 without from: the service\'s short number', async () => {
    const { sn, login } = acc;
    const a = readH2s(await get(srv, H2S, { account: sn, login, password: PASSWORD,
      to: '+33612345678', message: 'reply to me', senderForResponse: '1' }));
    assert.equal(a.status, 100);
    const row = srv.sql(`SELECT sender FROM messages WHERE id = ${a.ids[0]}`)[0];
    assert.match(row.sender, /^\d+$/);
    const missing = readH2s(await get(srv, H2S, { account: sn, login, password: PASSWORD,
      to: '+33612345678', message: 'no sender' }));
    assert.equal(missing.status, 201);
    assert.match(missing.message, /from/);
  });

  test('a wrong login, an unknown account and a receiver that is no number', async () => {
    const { sn, login } = acc;
    const base = { account: sn, login, password: PASSWORD, from: 'MyShop', to: '+33612345678',
      message: 'x' };
    assert.equal(readH2s(await get(srv, H2S, { ...base, login: 'nobody' })).status, 401);
    assert.equal(readH2s(await get(srv, H2S, { ...base, account: 'sms-none-1' })).status, 401);
    const bad = readH2s(await get(srv, H2S, { ...base, to: 'not-a-number' }));
    assert.equal(bad.status, 202);
    const before = srv.sql('SELECT COUNT(*) AS n FROM messages')[0].n;
    assert.equal(readH2s(await get(srv, H2S, { ...base, contentType: 'image/png' })).status, 202);
    assert.equal(srv.sql('SELECT COUNT(*) AS n FROM messages')[0].n, before);
  });
});

describe('Kannel sendsms', () => {
  let srv, acc, sink;

  before(async () => {
    srv = await startServer({ args: ['--callback-backoff-ms', '100', '--callback-backoff-max-ms', '300'] });
    acc = await setup(srv);
    sink = await new Sink().start();
  });
  after(async () => {
    try { await srv?.finish(); } finally { await sink?.close(); }
  });

  test('the user guide\'s request: GET with username, password, to and text', async () => {
    const { sn, login, client } = acc;
    const res = await get(srv, '/cgi-bin/sendsms',
      `username=${login}&password=${PASSWORD}&to=0033612345678&text=Hello+world`);
    assert.equal(res.status, 202, res.text);
    assert.equal(res.text.trim(), '0: Accepted for delivery');
    const id = Number(res.headers['x-smsgate-ids']);
    assert.ok(id > 0);
    const rows = srv.sql(`SELECT receiver, message FROM messages WHERE id = ${id}`);
    assert.equal(rows[0].receiver, '+33612345678');
    assert.match(rows[0].message, /^Hello world/);
    // the user's name may also carry its service
    const res2 = await get(srv, '/cgi-bin/sendsms', { username: `${sn}/${login}`,
      password: PASSWORD, to: '0033612345678', text: 'again' });
    assert.equal(res2.status, 202, res2.text);
    assert.ok(client);
  });

  test('several receivers separated by \'+\', from, mclass, priority, validity, POST', async () => {
    const { login } = acc;
    const res = await get(srv, '/cgi-bin/sendsms', `user=${login}&pass=${PASSWORD}`
      + '&to=0033612345678+0033698765432&text=two&from=MyShop&mclass=0&priority=3&validity=60');
    assert.equal(res.status, 202, res.text);
    const ids = res.headers['x-smsgate-ids'].split(',').map(Number);
    assert.equal(ids.length, 2);
    const rows = srv.sql(`SELECT sender, class, priority, validity_min FROM messages WHERE id IN (${ids.join(',')})`);
    for (const r of rows) {
      assert.equal(r.sender, 'MyShop');
      assert.equal(r.class, 0);          // flash
      assert.equal(r.priority, 0);       // high
      assert.equal(r.validity_min, 60);
    }
    const posted = await postForm(srv, '/cgi-bin/sendsms', { username: login, password: PASSWORD,
      to: '0033612345678', text: 'posted' });
    assert.equal(posted.status, 202, posted.text);
    assert.equal(posted.text.trim(), '0: Accepted for delivery');
  });

  test('deferred in minutes: queued for later delivery', async () => {
    const { login } = acc;
    const t0 = Date.now();
    const res = await get(srv, '/cgi-bin/sendsms', { username: login, password: PASSWORD,
      to: '0033612345678', text: 'later', deferred: '30' });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.text.trim(), '3: Queued for later delivery');
    const id = Number(res.headers['x-smsgate-ids']);
    const row = srv.sql(`SELECT due_ms FROM messages WHERE id = ${id}`)[0];
    assert.ok(row.due_ms >= t0 + 29 * 60000 && row.due_ms <= Date.now() + 30 * 60000);
  });

  test('refusals: a wrong password, no receiver, bad values', async () => {
    const { login } = acc;
    const base = { username: login, password: PASSWORD, to: '0033612345678', text: 'x' };
    let res = await get(srv, '/cgi-bin/sendsms', { ...base, password: 'nope' });
    assert.equal(res.status, 403);
    assert.equal(res.text.trim(), 'Authorization failed for sendsms');
    res = await get(srv, '/cgi-bin/sendsms', { username: login, password: PASSWORD, text: 'x' });
    assert.equal(res.status, 400);
    assert.match(res.text, /receiver/i);
    for (const [k, v] of [['mclass', '9'], ['dlr-mask', '99'], ['coding', '1'], ['udh', '050003']]) {
      res = await get(srv, '/cgi-bin/sendsms', { ...base, [k]: v });
      assert.equal(res.status, 400, `${k}=${v}`);
    }
    res = await get(srv, '/cgi-bin/sendsms', { ...base, to: 'nonsense' });
    assert.equal(res.status, 400);
    res = await get(srv, '/cgi-bin/sendsms', { ...base, from: 'NotMine' });
    assert.equal(res.status, 403);
  });

  test('dlr-url gets Kannel\'s escapes for each event of dlr-mask: delivered and failed', { timeout: 60000 }, async () => {
    const { login, sn } = acc;
    const tmpl = sink.url('/dlr?tag=%TAG%&type=%d&to=%p&from=%P&q=%q&id=%I&ts=%T&reply=%A'
      + '&smsc=%i&fid=%F&user=%n&kw=%k&text=%b&coding=%c');
    const send = async (to, tag, mask) => {
      const url = tmpl.replace('%TAG%', tag);
      // as Kannel's guide writes it: the dlr-url URL-encoded in the query
      const res = await get(srv, '/cgi-bin/sendsms', `username=${login}&password=${PASSWORD}`
        + `&to=${to}&text=Hello+world&dlr-mask=${mask}&dlr-url=${encodeURIComponent(url)}`);
      assert.equal(res.status, 202, res.text);
      return Number(res.headers['x-smsgate-ids']);
    };
    const t0 = Math.floor(Date.now() / 1000);
    const okId = await send('0033612345678', 'ok', 31);
    const rejId = await send('0033612345901', 'rej', 31);
    const undId = await send('0033612345902', 'und', 3);   // only the final reports
    const noneId = await send('0033612345678', 'none', 16); // only a refusal by the SMSC
    await waitFor(() => sink.of('ok').length >= 2 && sink.of('rej').length >= 2
      && sink.of('und').length >= 1, { what: 'the dlr-url calls', timeoutMs: 20000 });
    await sleep(500); // nothing more may come
    const types = (tag) => sink.of(tag).map((h) => Number(h.params.type));
    assert.deepEqual(types('ok'), [8, 1]);
    assert.deepEqual(types('rej'), [8, 2]);
    assert.deepEqual(types('und'), [2]);
    assert.deepEqual(types('none'), []);
    const okFinal = sink.of('ok')[1].params;
    assert.equal(okFinal.to, '+33612345678');
    assert.equal(okFinal.q, '+33612345678');
    assert.equal(Number(okFinal.id), okId);
    assert.equal(okFinal.reply, 'DELIVRD');
    assert.equal(okFinal.smsc, 'sim');
    assert.ok(okFinal.fid.length > 0);
    assert.equal(okFinal.user, login);
    assert.equal(okFinal.kw, 'Hello');
    assert.match(okFinal.text, /^Hello world/);
    assert.equal(okFinal.coding, '0');
    assert.ok(Number(okFinal.ts) >= t0 && Number(okFinal.ts) <= Date.now() / 1000 + 1);
    assert.equal(okFinal.from, srv.sql(`SELECT sender FROM messages WHERE id = ${okId}`)[0].sender);
    assert.ok(sn);
    assert.equal(sink.of('ok')[0].params.reply, 'ACK/');
    assert.equal(sink.of('rej')[1].params.reply, 'REJECTD');
    assert.equal(Number(sink.of('rej')[1].params.id), rejId);
    assert.equal(sink.of('und')[0].params.reply, 'UNDELIV');
    assert.equal(Number(sink.of('und')[0].params.id), undId);
    assert.ok(noneId > 0);
    // durable: each call is a row of the callbacks queue, delivered
    const calls = srv.sql(`SELECT message_id, state FROM notify_calls WHERE message_id IN (${okId}, ${rejId}, ${undId})`);
    assert.equal(calls.length, 5);
    assert.ok(calls.every((c) => c.state === 1));
  });

  test('a dlr-url that fails is retried until it answers 2xx, once delivered', { timeout: 60000 }, async () => {
    const { login } = acc;
    sink.failFirst.flaky = 3;
    const url = sink.url('/dlr?tag=flaky&type=%d&id=%I');
    const res = await get(srv, '/cgi-bin/sendsms', { username: login, password: PASSWORD,
      to: '0033612345678', text: 'retry me', 'dlr-mask': '1', 'dlr-url': url });
    assert.equal(res.status, 202, res.text);
    const id = Number(res.headers['x-smsgate-ids']);
    await waitFor(() => sink.of('flaky').length >= 1, { what: 'the retried call', timeoutMs: 20000 });
    await sleep(500);
    assert.equal(sink.of('flaky').length, 1);
    assert.equal(sink.hits.filter((h) => h.params.tag === 'flaky').length, 4);
    assert.equal(Number(sink.of('flaky')[0].params.id), id);
    assert.equal(sink.of('flaky')[0].params.type, '1');
    const call = srv.sql(`SELECT state, attempts FROM notify_calls WHERE message_id = ${id}`);
    assert.equal(call.length, 1);
    assert.equal(call[0].state, 1);
    assert.equal(call[0].attempts, 4);
  });

  test('text in ISO-8859-1, by charset or because it is not UTF-8', async () => {
    const { login } = acc;
    for (const q of ['&charset=ISO-8859-1', '']) {
      const res = await get(srv, '/cgi-bin/sendsms',
        `username=${login}&password=${PASSWORD}&to=0033612345678&text=%E9t%E9${q}`);
      assert.equal(res.status, 202, res.text);
      const id = Number(res.headers['x-smsgate-ids']);
      assert.match(srv.sql(`SELECT message FROM messages WHERE id = ${id}`)[0].message, /^été/);
    }
    const utf8 = await get(srv, '/cgi-bin/sendsms',
      `username=${login}&password=${PASSWORD}&to=0033612345678&text=%C3%A9t%C3%A9`);
    const id = Number(utf8.headers['x-smsgate-ids']);
    assert.match(srv.sql(`SELECT message FROM messages WHERE id = ${id}`)[0].message, /^été/);
    const bad = await get(srv, '/cgi-bin/sendsms',
      `username=${login}&password=${PASSWORD}&to=0033612345678&text=x&charset=EBCDIC`);
    assert.equal(bad.status, 400);
  });

  test('the SMS user\'s quota and ipRestrictions hold on both gateways', async () => {
    const { sn, client } = acc;
    const login = uniq('quota').slice(0, 20);
    await client.requestPromised('POST', `/sms/${sn}/users`, { login, password: PASSWORD });
    const kannel = () => get(srv, '/cgi-bin/sendsms', { username: login, password: PASSWORD,
      to: '0033612345678', text: 'quota' });
    const first = await kannel();
    assert.equal(first.status, 202, first.text);
    const price = srv.sql(`SELECT credits FROM messages WHERE id = ${Number(first.headers['x-smsgate-ids'])}`)[0].credits;
    await client.requestPromised('PUT', `/sms/${sn}/users/${login}`,
      { quotaInformations: { quotaStatus: 'active', quotaLeft: price / 1000 } });
    assert.equal((await kannel()).status, 202);
    const over = await kannel();
    assert.equal(over.status, 402, over.text);
    assert.match(over.text, /quota/i);
    const h2s = readH2s(await get(srv, H2S, { account: sn, login, password: PASSWORD,
      from: 'MyShop', to: '+33612345678', message: 'quota', contentType: 'text/json' }), 'text/json');
    assert.equal(h2s.status, 202);
    assert.match(h2s.message, /quota/i);

    await client.requestPromised('PUT', `/sms/${sn}/users/${login}`,
      { quotaInformations: { quotaStatus: 'inactive' }, ipRestrictions: ['10.1.2.0/24'] });
    const far = await kannel();
    assert.equal(far.status, 403);
    assert.equal(readH2s(await get(srv, H2S, { account: sn, login, password: PASSWORD,
      from: 'MyShop', to: '+33612345678', message: 'x' })).status, 401);
  });
});
