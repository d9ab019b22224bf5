// http.test.mjs - HTTP-level behaviour the SDKs rely on (spec 0, 2.1, 3.1): headers of every
// answer, keep-alive and pipelining, HEAD, "Expect: 100-continue", the body size limit, and the
// Content-Type variants each SDK sends.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, httpRequest, startServer, waitOutgoing } from './lib/harness.mjs';

const MAX_BODY = 4096;

// Writes raw bytes on one connection and returns everything read until the server closes it
// (or until waitMs).
function rawExchange(port, chunks, { waitMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const out = [];
    const timer = setTimeout(() => { s.destroy(); resolve({ data: Buffer.concat(out).toString('latin1'), closed: false }); }, waitMs);
    s.on('connect', async () => {
      for (const c of chunks) {
        if (typeof c === 'function') await c(s, () => Buffer.concat(out).toString('latin1'));
        else s.write(c);
      }
    });
    s.on('data', (d) => out.push(d));
    s.on('end', () => { clearTimeout(timer); resolve({ data: Buffer.concat(out).toString('latin1'), closed: true }); });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// Parses consecutive HTTP/1.1 responses; `methods` says which request each answers (a HEAD
// answer has no body whatever its headers say). Throws on bytes that are not a response.
function parseResponses(data, methods) {
  const res = [];
  let p = 0;
  for (const m of methods) {
    const end = data.indexOf('\r\n\r\n', p);
    if (end < 0) throw new Error(`response ${res.length + 1} incomplete: ${JSON.stringify(data.slice(p))}`);
    const head = data.slice(p, end).split('\r\n');
    const status = head[0].match(/^HTTP\/1\.[01] (\d{3}) /);
    if (!status) throw new Error(`response ${res.length + 1} does not start with a status line: ${JSON.stringify(data.slice(p, p + 80))}`);
    const headers = {};
    for (const h of head.slice(1)) {
      const i = h.indexOf(':');
      headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
    }
    p = end + 4;
    let body = '';
    if (m !== 'HEAD' && Number(status[1]) !== 100) {
      const n = Number(headers['content-length'] ?? 0);
      body = data.slice(p, p + n);
      p += n;
    }
    res.push({ status: Number(status[1]), headers, body });
  }
  return { responses: res, rest: data.slice(p) };
}

describe('HTTP behaviour', () => {
  let srv, keys, sn, client;

  before(async () => {
    srv = await startServer({ args: ['--max-body', String(MAX_BODY)] });
    keys = srv.createAccount('http', 10);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  test('every answer: JSON Content-Type and an X-Ovh-QueryID', async () => {
    for (const r of [await srv.raw({ path: '/auth/time' }), await srv.raw({ path: '/sms', keys }),
      await srv.raw({ path: '/sms/sms-nobody-1', keys }), await srv.raw({ path: '/sms', keys, secret: 'x' })]) {
      assert.match(r.headers['content-type'], /^application\/json; charset=utf-8$/);
      assert.ok(r.headers['x-ovh-queryid'], `no X-Ovh-QueryID on ${r.status}`);
    }
  });

  test('Content-Type variants: php (charset), python (none on GET), none at all on POST', async () => {
    let r = await srv.raw({ path: '/sms', keys, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    assert.equal(r.status, 200, r.text);
    r = await srv.raw({ path: '/sms', keys, headers: { 'Content-Type': null } });
    assert.equal(r.status, 200, r.text);
    r = await srv.raw({ method: 'POST', path: '/sms/estimate', keys, headers: { 'Content-Type': null },
      body: { message: 'a', noStopClause: true, senderType: 'alpha' } });
    assert.equal(r.status, 200, r.text);
    // python-ovh: a body-less DELETE with Content-Length: 0.
    const d = await client.requestPromised('POST', `/sms/${sn}/jobs`, { message: 'later', receivers: ['+33612345620'],
      senderForResponse: true, differedPeriod: 60 });
    r = await srv.raw({ method: 'DELETE', path: `/sms/${sn}/jobs/${d.ids[0]}`, keys, headers: { 'Content-Length': '0' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'null');
  });

  test('keep-alive: several requests on one connection, pipelined, answered in order', async () => {
    const req = (path, extra = '') => `GET /1.0${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n${extra}\r\n`;
    const { data, closed } = await rawExchange(srv.port, [
      req('/auth/time') + req('/nothing') + req('/auth/time', 'Connection: close\r\n'),
    ]);
    assert.ok(closed, 'the server closes after Connection: close');
    const { responses, rest } = parseResponses(data, ['GET', 'GET', 'GET']);
    assert.deepEqual(responses.map((r) => r.status), [200, 404, 200]);
    assert.match(responses[0].body, /^\d+$/);
    assert.equal(JSON.parse(responses[1].body).message.length > 0, true);
    assert.equal(rest, '');
  });

  test('HEAD answers headers only, and the connection stays usable', async () => {
    const host = `Host: 127.0.0.1:${srv.port}\r\n`;
    const { data } = await rawExchange(srv.port, [
      `HEAD /1.0/auth/time HTTP/1.1\r\n${host}\r\nGET /1.0/auth/time HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
    ]);
    const { responses, rest } = parseResponses(data, ['HEAD', 'GET']);
    assert.equal(responses[0].status, 200);
    assert.equal(responses[1].status, 200, `the answer after HEAD is garbled: ${JSON.stringify(data)}`);
    assert.match(responses[1].body, /^\d+$/);
    assert.equal(rest, '', `bytes after the last response: ${JSON.stringify(rest)}`);
    // Through node's HTTP client (which rejects a HEAD answer carrying a body on keep-alive).
    const r = await httpRequest({ port: srv.port, method: 'HEAD', target: '/1.0/auth/time' });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
  });

  test('"Expect: 100-continue" gets 100 Continue, then the answer', async () => {
    const body = JSON.stringify({ accessRules: [{ method: 'GET', path: '/sms' }] });
    const { data } = await rawExchange(srv.port, [
      `POST /1.0/auth/credential HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nX-Ovh-Application: ${keys.appKey}\r\n`
      + `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n`
      + 'Connection: close\r\n\r\n',
      async (s, got) => {
        const t0 = Date.now();
        while (!/100 Continue/.test(got()) && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 10));
        s.write(body);
      },
    ]);
    const { responses } = parseResponses(data, ['POST', 'POST']);
    assert.equal(responses[0].status, 100);
    assert.equal(responses[1].status, 200, data);
    assert.equal(JSON.parse(responses[1].body).state, 'pendingValidation');
  });

  test('a body over --max-body is refused with 413 and nothing is stored', async () => {
    const big = { message: 'x', receivers: Array.from({ length: 400 }, (_, i) => `+336123${String(i).padStart(5, '0')}`),
      senderForResponse: true };
    assert.ok(JSON.stringify(big).length > MAX_BODY);
    const r = await srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys, body: big });
    // libevent 2.1 answers this one itself (HTML): no hook exists to make it JSON (docs/api.md).
    assert.equal(r.status, 413);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 10);
  });

  test('a body just under --max-body is accepted', async () => {
    const body = { message: 'y', receivers: Array.from({ length: 100 }, (_, i) => `+336123${String(i).padStart(5, '0')}`),
      senderForResponse: true, noStopClause: true };
    assert.ok(JSON.stringify(body).length < MAX_BODY);
    srv.smsctlOk(['service', 'credit', sn, '100']);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, body);
    assert.equal(rep.ids.length, 100);
    assert.equal(rep.totalCreditsRemoved, 100);
    await waitOutgoing(client, sn, rep.ids.at(-1), (m) => m.deliveryReceipt === 1);
  });

  test('bad path forms are JSON 400s', async () => {
    for (const target of [`/1.0/sms/${sn}/../${sn}`, '/1.0/sms/%00', '/1.0/sms/a%2Fb']) {
      const r = await srv.raw({ target, keys });
      assertOvhError(r, 400);
    }
    // Percent-encoded ordinary characters are decoded before routing.
    const r = await srv.raw({ target: `/1.0/sms/${sn.replace(/-/g, '%2D')}`, keys });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, sn);
  });
});
