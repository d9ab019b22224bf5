// callbacks.test.mjs - status callbacks (issue 4, docs/callbacks.md) with real HTTP receivers on
// loopback:
//   * each transition of an SMS (8 then 1, 2 or 16; 8, 4, 1 for a slow one) gives exactly one
//     successful call, in order, with every parameter right and a valid signature;
//   * a receiver answering 500 for a while receives everything once it recovers;
//   * calls that stay failing go to the dead-letter list; smsctl lists and replays them;
//   * smsgated killed with SIGKILL while calls are pending delivers them all after a restart;
//   * a receiver that never answers does not slow down callbacks to a healthy one, nor sending;
//   * a callback to a loopback address is refused unless --callback-allow-private.
// The harness passes --callback-allow-private; the refusal test turns it off again.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { sleep, startServer, uniq, waitFor, waitOutgoing } from './lib/harness.mjs';

const DLR_TEXT = { 1: 'Success', 2: 'Failed', 4: 'Waiting', 8: 'Buffered', 16: 'Error, not billed' };
const FAST_RETRY = ['--callback-backoff-ms', '100', '--callback-backoff-max-ms', '300'];

// An HTTP server recording every request; `answer(hit)` gives the status to send, or null to
// never answer.
class Receiver {
  constructor(answer = () => 200) {
    this.answer = answer;
    this.hits = [];
    this.open = new Set();
  }

  async start() {
    this.srv = http.createServer((req, res) => {
      const q = req.url.indexOf('?');
      const hit = {
        at: Date.now(),
        path: q < 0 ? req.url : req.url.slice(0, q),
        rawQuery: q < 0 ? '' : req.url.slice(q + 1),
        params: Object.fromEntries(new URL(req.url, 'http://x').searchParams),
        signature: req.headers['x-smsgate-signature'],
        callId: req.headers['x-smsgate-call'],
        method: req.method,
      };
      hit.status = this.answer(hit);
      this.hits.push(hit);
      if (hit.status === null) {
        this.open.add(res);
        return;
      }
      res.writeHead(hit.status, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }

  url(path = '/cb') { return `http://127.0.0.1:${this.port}${path}`; }
  ok() { return this.hits.filter((h) => h.status >= 200 && h.status < 300); }
  // The deliveryReceipt values of the successful calls for one SMS, in arrival order.
  okDlrs(id) { return this.ok().filter((h) => Number(h.params.id) === id).map((h) => Number(h.params.dlr)); }

  async close() {
    for (const res of this.open) res.socket?.destroy();
    this.srv.closeAllConnections();
    await new Promise((r) => this.srv.close(r));
  }
}

function sign(secret, rawQuery) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(rawQuery).digest('hex');
}

async function send(client, sn, receivers, extra = {}) {
  const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
    message: 'callback test', receivers, senderForResponse: true, noStopClause: true, ...extra,
  });
  assert.equal(rep.ids.length, receivers.length);
  return rep.ids;
}

async function setCallback(client, sn, url) {
  await client.requestPromised('PUT', `/sms/${sn}`, { callBack: url });
  assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).callBack, url);
}

describe('status callbacks, delivered', () => {
  let srv, rcv, flaky;

  before(async () => {
    srv = await startServer({ args: FAST_RETRY });
    rcv = await new Receiver().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rcv?.close();
      await flaky?.close();
    }
  });

  test('every transition is called once, in order, with every parameter, signed', async () => {
    const keys = srv.createAccount(uniq('cb'), 50);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await setCallback(client, sn, rcv.url('/dlr?token=abc'));
    const t0 = Math.floor(Date.now() / 1000);
    const plan = [
      { to: '+33612345678', dlrs: [8, 1], ptts: [3, 4] },
      { to: '+33612345901', dlrs: [8, 2], ptts: [3, 5] },
      { to: '+33612345902', dlrs: [8, 16], ptts: [3, 23] },
      { to: '+33612345904', dlrs: [8, 4, 1], ptts: [3, 3, 4] },
    ];
    const ids = await send(client, sn, plan.map((p) => p.to), { tag: 'rdv 9:30' });
    await waitFor(() => plan.every((p, i) => rcv.okDlrs(ids[i]).length >= p.dlrs.length),
      { what: 'every callback', timeoutMs: 15000 });
    await sleep(400); // nothing more may come
    const secret = srv.smsctlOk(['service', 'secret', sn]).stdout.trim();
    assert.match(secret, /^[0-9a-f]{64}$/);
    const t1 = Math.ceil(Date.now() / 1000);
    plan.forEach((p, i) => {
      const id = ids[i];
      assert.deepEqual(rcv.okDlrs(id), p.dlrs, `callbacks of SMS ${id} to ${p.to}`);
      const hits = rcv.hits.filter((h) => Number(h.params.id) === id);
      assert.equal(hits.length, p.dlrs.length, 'no failed attempt, no duplicate');
      hits.forEach((h, k) => {
        assert.equal(h.method, 'GET');
        assert.equal(h.path, '/dlr');
        assert.equal(h.params.token, 'abc', 'the URL\'s own query is kept');
        assert.ok(h.rawQuery.startsWith('token=abc&id='), h.rawQuery);
        assert.equal(h.params.id, String(id));
        assert.equal(h.params.dlr, String(p.dlrs[k]));
        assert.equal(h.params.description, String(p.dlrs[k]));
        assert.equal(h.params.descriptionDlr, DLR_TEXT[p.dlrs[k]]);
        assert.equal(h.params.ptt, String(p.ptts[k]));
        assert.equal(h.params.sender, '36184');
        assert.equal(h.params.receiver, p.to);
        assert.equal(h.params.tag, 'rdv 9:30');
        assert.match(h.params.date, /^\d+$/);
        const date = Number(h.params.date);
        assert.ok(date >= t0 - 1 && date <= t1, `date ${date} outside ${t0}..${t1}`);
        assert.equal(h.signature, sign(secret, h.rawQuery));
        assert.match(h.callId, /^\d+$/);
      });
    });
    // The final state the API shows is the one of the last call.
    const o = await client.requestPromised('GET', `/sms/${sn}/outgoing/${ids[3]}`);
    assert.equal(o.deliveryReceipt, 1);
    // The customer API never reveals the secret.
    const acct = await client.requestPromised('GET', `/sms/${sn}`);
    assert.ok(!JSON.stringify(acct).includes(secret));
    // Nothing is left pending or dead; smsctl shows the delivered calls.
    assert.match(srv.smsctlOk(['callbacks', 'list', sn]).stdout, /^no pending or dead callbacks/);
    const delivered = srv.smsctlOk(['callbacks', 'list', sn, '--state', 'delivered', '--json']).json;
    assert.equal(delivered.length, 9);
    assert.ok(delivered.every((c) => c.state === 'delivered' && c.attempts === 1 && c.lastStatus === 200));
  });

  test('a receiver answering 500 for a while receives everything once it recovers', async () => {
    let firstAt = 0;
    flaky = await new Receiver((h) => {
      firstAt ||= h.at;
      return h.at - firstAt < 1200 ? 500 : 200;
    }).start();
    const keys = srv.createAccount(uniq('flaky'), 50);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await setCallback(client, sn, flaky.url('/x'));
    const ids = await send(client, sn, ['+33611111111', '+33611111112', '+33611111113']);
    await waitFor(() => ids.every((id) => flaky.okDlrs(id).length >= 2),
      { what: 'every callback after the recovery', timeoutMs: 15000 });
    await sleep(400);
    assert.ok(flaky.hits.some((h) => h.status === 500), 'the receiver did fail first');
    for (const id of ids) assert.deepEqual(flaky.okDlrs(id), [8, 1], `SMS ${id}`);
    // Order: a message's delivery receipt never arrived before its submission succeeded.
    for (const id of ids) {
      const mine = flaky.hits.filter((h) => Number(h.params.id) === id);
      const firstOk8 = mine.findIndex((h) => h.params.dlr === '8' && h.status === 200);
      const first1 = mine.findIndex((h) => h.params.dlr === '1');
      const seen = mine.map((h) => `${h.params.dlr}/${h.status}`).join(' ');
      assert.ok(firstOk8 >= 0 && first1 > firstOk8, `SMS ${id}: ${seen}`);
    }
    const list = srv.smsctlOk(['callbacks', 'list', sn, '--state', 'delivered', '--json']).json;
    assert.equal(list.length, 6);
    assert.ok(list.some((c) => c.attempts > 1));
  });

  test('PUT /sms/{sn} refuses an invalid callBack with a 400 naming it', async () => {
    const keys = srv.createAccount(uniq('bad'), 1);
    const r = await srv.raw({ method: 'PUT', path: `/sms/${keys.serviceName}`, keys,
      body: { callBack: 'ftp://127.0.0.1/x' } });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /callBack/);
  });
});

describe('status callbacks, dead-letter list and replay', () => {
  let srv, rcv, up = false;

  before(async () => {
    srv = await startServer({ args: ['--callback-retry-s', '1', ...FAST_RETRY] });
    srv.expectLog(/WARN notify: Callback \d+ .* goes to the dead-letter list/);
    rcv = await new Receiver(() => (up ? 200 : 503)).start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rcv?.close();
    }
  });

  test('failing calls go dead after the retry window; smsctl lists and replays them', async () => {
    const keys = srv.createAccount(uniq('dead'), 5);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await setCallback(client, sn, rcv.url('/dead'));
    const [id] = await send(client, sn, ['+33622222222']);
    const dead = await waitFor(() => {
      const l = srv.smsctlOk(['callbacks', 'list', sn, '--state', 'dead', '--json']).json;
      return l.length === 2 && l;
    }, { what: 'two dead callbacks', timeoutMs: 15000 });
    assert.deepEqual(dead.map((c) => c.deliveryReceipt), [8, 1]);
    for (const c of dead) {
      assert.equal(c.messageId, id);
      assert.ok(c.attempts >= 2, `attempts ${c.attempts}`);
      assert.equal(c.lastStatus, 503);
      assert.match(c.lastError, /503/);
      assert.equal(c.nextAttemptAt, null);
      assert.match(c.url, /\/dead\?id=\d+&dlr=\d+&/);
    }
    const human = srv.smsctlOk(['callbacks', 'list', sn]).stdout;
    assert.match(human, /^ID\s+MESSAGE\s+DLR\s+STATE\s+ATTEMPTS\s+NEXT\s+LAST\s+ERROR/);
    assert.equal(human.match(/ dead /g).length, 2);
    assert.equal(rcv.ok().length, 0);

    // The customer fixes its URL; a replay goes to the new one.
    up = true;
    await setCallback(client, sn, rcv.url('/fixed?v=2'));
    assert.equal(srv.smsctlOk(['callbacks', 'replay', sn]).stdout, 'replayed: 2\n');
    await waitFor(() => rcv.okDlrs(id).length >= 2, { what: 'the replayed callbacks' });
    await sleep(300);
    assert.deepEqual(rcv.okDlrs(id), [8, 1]);
    for (const h of rcv.ok()) {
      assert.equal(h.path, '/fixed');
      assert.equal(h.params.v, '2');
      assert.equal(h.params.id, String(id));
    }
    assert.match(srv.smsctlOk(['callbacks', 'list', sn]).stdout, /^no pending or dead callbacks/);

    // One call by id, also a delivered one.
    const first = dead[0].id;
    assert.equal(srv.smsctlOk(['callbacks', 'replay', sn, '--id', String(first)]).stdout, 'replayed: 1\n');
    await waitFor(() => rcv.okDlrs(id).length === 3, { what: 'the replayed call' });

    const missing = srv.smsctl(['callbacks', 'replay', sn, '--id', '99999']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /404/);
    const badState = srv.smsctl(['callbacks', 'list', sn, '--state', 'lost']);
    assert.equal(badState.status, 2);
    assert.match(badState.stderr, /--state/);
    const unknown = srv.smsctl(['callbacks', 'list', 'sms-nobody-1']);
    assert.equal(unknown.status, 1);
  });
});

describe('status callbacks survive SIGKILL', () => {
  let srv, rcv, up = false;

  before(async () => {
    srv = await startServer({ args: FAST_RETRY });
    rcv = await new Receiver(() => (up ? 200 : 503)).start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rcv?.close();
    }
  });

  test('calls pending at the crash are all delivered after the restart', async () => {
    const keys = srv.createAccount(uniq('kill'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await setCallback(client, sn, rcv.url('/k'));
    const ids = await send(client, sn, ['+33633333331', '+33633333332', '+33633333333']);
    for (const id of ids) await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    await waitFor(() => ids.every((id) => rcv.hits.some((h) => Number(h.params.id) === id)),
      { what: 'a first (failed) attempt of every SMS' });
    const pending = srv.sql('SELECT COUNT(*) AS n FROM notify_calls WHERE state = 0')[0].n;
    assert.equal(pending, 6);
    await srv.kill9();
    up = true;
    await srv.restart();
    await waitFor(() => ids.every((id) => rcv.okDlrs(id).length >= 2),
      { what: 'every callback after the restart', timeoutMs: 15000 });
    await sleep(300);
    for (const id of ids) assert.deepEqual(rcv.okDlrs(id), [8, 1], `SMS ${id}`);
    assert.equal(srv.sql('SELECT COUNT(*) AS n FROM notify_calls WHERE state != 1')[0].n, 0);
  });
});

describe('a dead customer host does not slow down the others', () => {
  let srv, hung, healthy;

  before(async () => {
    srv = await startServer({ args: ['--callback-host-concurrency', '2', '--callback-timeout-ms', '20000'] });
    hung = await new Receiver(() => null).start();
    healthy = await new Receiver().start();
  });
  after(async () => {
    try {
      await srv?.finish(); // SIGTERM with calls hanging: they are abandoned, exit stays prompt
    } finally {
      await hung?.close();
      await healthy?.close();
    }
  });

  test('callbacks to a healthy host and sending go on while another host hangs', async () => {
    const a = srv.createAccount(uniq('hung'), 50);
    const b = srv.createAccount(uniq('healthy'), 50);
    const ca = srv.sdk(a), cb = srv.sdk(b);
    await setCallback(ca, a.serviceName, hung.url('/never'));
    await setCallback(cb, b.serviceName, healthy.url('/fine'));
    const hungIds = await send(ca, a.serviceName, Array.from({ length: 10 }, (_, i) => `+3364444440${i}`));
    await waitFor(() => hung.hits.length === 2, { what: 'the hanging host to hold two calls' });
    const t0 = Date.now();
    const ids = await send(cb, b.serviceName, Array.from({ length: 5 }, (_, i) => `+3365555550${i}`));
    await waitFor(() => ids.every((id) => healthy.okDlrs(id).length >= 2),
      { what: 'the healthy host\'s callbacks', timeoutMs: 5000 });
    const took = Date.now() - t0;
    for (const id of ids) assert.deepEqual(healthy.okDlrs(id), [8, 1]);
    // Sending is not held up either: the hung account's SMS were delivered meanwhile.
    for (const id of hungIds) {
      const o = await ca.requestPromised('GET', `/sms/${a.serviceName}/outgoing/${id}`);
      assert.equal(o.deliveryReceipt, 1);
    }
    assert.equal(hung.hits.length, 2, 'at most --callback-host-concurrency calls to one host');
    assert.ok(took < 5000, `the healthy host waited ${took} ms`);
  });
});

describe('private destinations', () => {
  let srv, rcv;

  before(async () => {
    srv = await startServer({ args: ['--callback-allow-private=false', ...FAST_RETRY] });
    rcv = await new Receiver().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rcv?.close();
    }
  });

  test('a callback to a loopback address is refused, by address and by name', async () => {
    for (const host of ['127.0.0.1', 'localhost']) {
      const keys = srv.createAccount(uniq('priv'), 5);
      const sn = keys.serviceName;
      const client = srv.sdk(keys);
      await setCallback(client, sn, `http://${host}:${rcv.port}/p`);
      const [id] = await send(client, sn, ['+33666666666']);
      await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
      const list = await waitFor(() => {
        const l = srv.smsctlOk(['callbacks', 'list', sn, '--json']).json;
        return l.length === 2 && l[0].attempts >= 2 && l;
      }, { what: `retried attempts of the callback to ${host}` });
      const [first, second] = list;
      assert.equal(first.deliveryReceipt, 8);
      assert.equal(first.state, 'pending', 'refused calls stay pending (retried), never lost');
      assert.match(first.lastError, /refused: .* loopback or private address/);
      assert.equal(first.lastStatus, null);
      // The delivery receipt waits behind it: events of one SMS are called in order.
      assert.equal(second.deliveryReceipt, 1);
      assert.equal(second.attempts, 0);
    }
    assert.equal(rcv.hits.length, 0, 'the receiver was never called');
  });
});
