// crash.test.mjs - durability across crashes. A stream of single-receiver sends runs from 8
// concurrent loops while smsgated dies (kill -9, or abort() right after its Nth store commit);
// after a restart on the same data dir:
//   * every id answered 200 is stored and delivered exactly once by the sim
//     (one sim_messages row, deliveries = 1);
//   * every stored message ends delivered, none stays pending;
//   * credits: creditsLeft = initial - stored messages = the ledger's last balance = the sum of
//     the ledger's amounts.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test } from './lib/test.mjs';

import { SIM_DELAY_MS, sleep, startServer, waitFor } from './lib/harness.mjs';

const CREDITS = 100000;
const LOOPS = 8;

// Unique receivers (+3361xxxxxxx), never ending in the sim's special 901-904.
let seq = 0;
function nextReceiver() {
  for (;;) {
    seq++;
    const tail = seq % 1000;
    if (tail < 901 || tail > 904) return `+3361${String(seq).padStart(7, '0')}`;
  }
}

// Runs LOOPS send loops until the server stops answering (or until maxMs). Resolves with the ids
// answered 200, the HTTP statuses seen and the network errors that ended the loops.
function stream(srv, keys, { maxMs = 20000, loops = LOOPS } = {}) {
  const answered = [];
  const startedAt = new Map(); // id -> when its request was sent
  const statuses = {};
  const errors = [];
  const receivers = new Map();
  let stop = false;
  const t0 = Date.now();
  const loop = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (!stop && Date.now() - t0 < maxMs) {
        const to = nextReceiver();
        const sentAt = Date.now();
        let r;
        try {
          r = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys, agent,
            body: { message: 'crash test', receivers: [to], senderForResponse: true, noStopClause: true },
            timeoutMs: 10000 });
        } catch (e) {
          errors.push(e.code || e.message);
          return; // the server is gone
        }
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        if (r.status === 200) {
          assert.equal(r.json.ids.length, 1);
          answered.push(r.json.ids[0]);
          receivers.set(r.json.ids[0], to);
          startedAt.set(r.json.ids[0], sentAt);
        }
      }
    } finally {
      agent.destroy();
    }
  };
  const all = Promise.all(Array.from({ length: loops }, loop));
  return {
    done: all.then(() => ({ answered, statuses, errors, receivers, startedAt, ms: Date.now() - t0 })),
    answered,
    stop: () => { stop = true; },
  };
}

function serviceId(srv, sn) {
  const rows = srv.sql(`SELECT id FROM services WHERE name = '${sn}'`);
  assert.equal(rows.length, 1);
  return rows[0].id;
}

// Waits until no message of the service is in a non-final state, then checks every invariant.
async function checkInvariants(srv, keys, answeredIds, receivers) {
  const sn = keys.serviceName;
  const sid = serviceId(srv, sn);
  await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE service_id = ${sid} `
    + 'AND state NOT IN (5, 6, 7)')[0].n === 0,
  { timeoutMs: 60000, intervalMs: 100, what: 'every stored message to reach a final state' });
  // "After a while": nothing moves any more.
  await sleep(SIM_DELAY_MS * 10);

  const msgs = srv.sql(`SELECT id, state, dlr, ptt, receiver FROM messages WHERE service_id = ${sid} ORDER BY id`);
  const byId = new Map(msgs.map((m) => [m.id, m]));
  const sim = srv.sql('SELECT message_id, submits, deliveries, done FROM sim_messages ORDER BY message_id');
  const simById = new Map();
  for (const s of sim) {
    assert.ok(!simById.has(s.message_id), `two sim rows for message ${s.message_id}`);
    simById.set(s.message_id, s);
  }

  // Answered ids: unique, stored, delivered exactly once.
  assert.equal(new Set(answeredIds).size, answeredIds.length, 'an id was answered twice');
  const missing = answeredIds.filter((id) => !byId.has(id));
  assert.deepEqual(missing, [], 'ids answered 200 but not stored');
  for (const id of answeredIds) {
    const m = byId.get(id);
    assert.equal(m.receiver, receivers.get(id), `message ${id} has another receiver`);
    const s = simById.get(id);
    assert.ok(s, `answered message ${id} never reached the sim`);
    assert.equal(s.deliveries, 1, `answered message ${id} delivered ${s.deliveries} times (submits ${s.submits})`);
  }
  // Every stored message, answered or not, ends delivered; none stuck in 0-2 (or 3-4).
  const notDelivered = msgs.filter((m) => m.state !== 5 || m.dlr !== 1 || m.ptt !== 4);
  assert.deepEqual(notDelivered, [], 'messages that did not end delivered');
  for (const m of msgs) {
    const s = simById.get(m.id);
    assert.ok(s && s.deliveries === 1, `message ${m.id}: sim row ${JSON.stringify(s)}`);
  }
  const stray = sim.filter((s) => !byId.has(s.message_id));
  assert.deepEqual(stray, [], 'sim rows for messages that do not exist');

  // Credits.
  const account = await srv.raw({ path: `/sms/${sn}`, keys });
  assert.equal(account.status, 200, account.text);
  const ledger = srv.ledger(sn);
  const sum = Math.round(ledger.reduce((a, e) => a + e.amount, 0) * 1000) / 1000;
  assert.equal(account.json.creditsLeft, CREDITS - msgs.length,
    `creditsLeft ${account.json.creditsLeft}, ${msgs.length} messages stored, ${CREDITS} initial`);
  assert.equal(ledger.at(-1).balance, account.json.creditsLeft, 'ledger last balance');
  assert.equal(sum, account.json.creditsLeft, 'sum of ledger amounts');
  const debits = ledger.filter((e) => e.kind === 'debit');
  assert.equal(debits.length, msgs.length, 'one debit per single-receiver send');
  assert.ok(ledger.every((e) => e.kind !== 'refund'), 'no refunds expected');

  // Through the API as well: nothing pending, a sample delivered.
  const jobs = await srv.raw({ path: `/sms/${sn}/jobs`, keys });
  assert.deepEqual(jobs.json, []);
  const sample = [...answeredIds.slice(0, 5), ...answeredIds.slice(-5)];
  for (const id of sample) {
    const o = await srv.raw({ path: `/sms/${sn}/outgoing/${id}`, keys });
    assert.equal(o.status, 200, o.text);
    assert.equal(o.json.deliveryReceipt, 1);
    assert.equal(o.json.ptt, 4);
  }
  return { stored: msgs.length, answered: answeredIds.length,
    resubmitted: sim.filter((s) => s.submits > 1).length };
}

// Stops every server a describe started, even when one of them fails, then throws the first error.
async function finishAll(servers) {
  const errors = [];
  for (const s of servers) {
    try { await s.finish(); } catch (e) { errors.push(e); }
  }
  if (errors.length) throw errors[0];
}

describe('crash safety', () => {
  const servers = [];
  after(() => finishAll(servers));

  test('kill -9 in the middle of a stream of sends', async (t) => {
    const srv = await startServer();
    servers.push(srv);
    const keys = srv.createAccount('crash-kill', CREDITS);
    const s = stream(srv, keys);
    await waitFor(() => s.answered.length >= 50, { timeoutMs: 10000, what: '50 answered sends' });
    await sleep(1000 + Math.floor(Math.random() * 500));
    const exit = await srv.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    const res = await s.done;
    assert.ok(res.answered.length >= 50, `only ${res.answered.length} sends answered`);
    assert.deepEqual(Object.keys(res.statuses), ['200'], `statuses ${JSON.stringify(res.statuses)}`);

    const states = srv.sql('SELECT state, COUNT(*) AS n FROM messages GROUP BY state ORDER BY state');
    t.diagnostic(`message states right after the kill: ${states.map((x) => `${x.state}:${x.n}`).join(' ')}`);
    await srv.restart();
    const r = await checkInvariants(srv, keys, res.answered, res.receivers);
    t.diagnostic(`kill -9: ${r.answered} answered, ${r.stored} stored, ${r.resubmitted} resubmitted to the sim after the restart`);
    // Sends work again after the restart.
    const after = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys,
      body: { message: 'after', receivers: ['+33612000000'], senderForResponse: true, noStopClause: true } });
    assert.equal(after.status, 200, after.text);
  });

  test('SIGTERM in the middle of a stream of sends', async (t) => {
    const srv = await startServer();
    servers.push(srv);
    const keys = srv.createAccount('crash-term', CREDITS);
    // Many keep-alive clients, so that some request is always in flight while they send.
    const s = stream(srv, keys, { loops: 48 });
    await waitFor(() => s.answered.length >= 50, { timeoutMs: 10000, what: '50 answered sends' });
    await sleep(500);
    // The clients keep sending (they do not know); they give up after CLIENT_PATIENCE_MS.
    const CLIENT_PATIENCE_MS = 4000;
    const tSignal = Date.now();
    const stopping = srv.terminate(15000); // SIGKILLs it after 15 s
    const patience = sleep(CLIENT_PATIENCE_MS).then(() => s.stop());
    const { exit, ms } = await stopping;
    const res = await s.done;
    await patience;
    const late = res.answered.filter((id) => res.startedAt.get(id) > tSignal + 100);
    t.diagnostic(`SIGTERM: exit ${JSON.stringify(exit)} after ${ms} ms; ${late.length} sends started `
      + `more than 100 ms after the signal were answered; ${res.answered.length} answered in all`);
    const tail = () => srv.logLines().filter((l) => !/ DEBUG /.test(l)).slice(-6).join('\n');

    await t.test('smsgated exits with status 0 within 15 s (no crash, no hang)', () => {
      assert.ok(exit, `smsgated did not exit within 15 s of SIGTERM; log tail:\n${tail()}`);
      assert.deepEqual(exit, { code: 0, signal: null }, `log tail:\n${tail()}`);
      if (!exit || exit.code !== 0) srv.expectLog(/WARN main: Shutdown timeout reached/);
    });
    // Whatever happened, the data must be intact: restart and check.
    srv.run.expectedExit = true;
    if (!exit) srv.expectLog(/WARN main: Shutdown timeout reached/);

    await t.test('every answered send is stored and delivered once after a restart', async () => {
      // 200 = accepted; 503 = refused because smsgated was already stopping (nothing stored).
      assert.deepEqual(Object.keys(res.statuses).filter((k) => k !== '200' && k !== '503'), [],
        `statuses ${JSON.stringify(res.statuses)}`);
      if (exit && exit.code === 0) {
        const claimed = srv.sql('SELECT COUNT(*) AS n FROM messages WHERE state = 2')[0].n;
        assert.equal(claimed, 0, 'a graceful stop leaves no message claimed (state 2)');
      }
      await srv.restart();
      const r = await checkInvariants(srv, keys, res.answered, res.receivers);
      t.diagnostic(`SIGTERM: ${r.answered} answered, ${r.stored} stored`);
    });

    // Once stopping, smsgated finishes the requests in flight but takes no new ones, even on
    // keep-alive connections that are already open; otherwise busy clients keep it alive until
    // they go away (or shutdown-timeout-s runs out).
    await t.test('no new request is served after the signal, even on open keep-alive connections', () => {
      assert.equal(late.length, 0,
        `smsgated kept serving new requests on open keep-alive connections after SIGTERM: `
        + `${late.length} sends sent 100 ms or more after the signal were answered 200, and it `
        + `exited ${ms} ms after the signal (the clients gave up after ${CLIENT_PATIENCE_MS} ms)`);
    });
  });

  test('abort() right after the Nth store commit (--fault-crash-after-commit), three times', async (t) => {
    const srv = await startServer();
    servers.push(srv);
    const keys = srv.createAccount('crash-fault', CREDITS);
    await srv.stop();
    const answered = [];
    const receivers = new Map();
    for (const n of [9, 60, 400]) {
      await srv.restart([`--fault-crash-after-commit=${n}`]);
      srv.expectLog(new RegExp(`ERROR store: Fault injection: crashing after commit ${n} as configured`));
      const s = stream(srv, keys);
      const exit = await srv.waitExit(20000);
      assert.equal(exit.signal, 'SIGABRT', `exit ${JSON.stringify(exit)}`);
      const res = await s.done;
      // 200 = accepted; 503 = refused because smsgated was already stopping (nothing stored).
      assert.deepEqual(Object.keys(res.statuses).filter((k) => k !== '200' && k !== '503'), [],
        `statuses ${JSON.stringify(res.statuses)}`);
      const log = srv.logText();
      assert.match(log, new RegExp(`Fault injection: crashing after commit ${n}`));
      answered.push(...res.answered);
      for (const [k, v] of res.receivers) receivers.set(k, v);
      t.diagnostic(`crash after commit ${n}: ${res.answered.length} sends answered`);
    }
    assert.ok(answered.length > 0, 'no send was answered before the crashes');
    await srv.restart();
    const r = await checkInvariants(srv, keys, answered, receivers);
    t.diagnostic(`fault injection: ${r.answered} answered, ${r.stored} stored, ${r.resubmitted} resubmitted`);
  });
});

// ---- sends with an Idempotency-Key (issue 12, point 4) -------------------------------------

// Like stream(), but each send carries its own Idempotency-Key and every attempt is
// remembered, answered or not: {key, body, to, answer (the 200 response) or undefined}.
function keyedStream(srv, keys, tag, { maxMs = 20000, loops = LOOPS } = {}) {
  const attempts = [];
  const statuses = {};
  let n = 0;
  const t0 = Date.now();
  const loop = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (Date.now() - t0 < maxMs) {
        const to = nextReceiver();
        const a = { key: `${tag}-${++n}`, to,
          body: { message: 'keyed crash test', receivers: [to], senderForResponse: true, noStopClause: true } };
        attempts.push(a);
        let r;
        try {
          r = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys, agent,
            body: a.body, headers: { 'Idempotency-Key': a.key }, timeoutMs: 10000 });
        } catch (e) {
          return; // the server is gone; this attempt's answer was not received
        }
        statuses[r.status] = (statuses[r.status] || 0) + 1;
        if (r.status === 200) a.answer = r;
      }
    } finally {
      agent.destroy();
    }
  };
  const all = Promise.all(Array.from({ length: loops }, loop));
  return { done: all.then(() => ({ attempts, statuses })), attempts };
}

// After the restart: retries every attempt whose answer was not received, with the same key and
// body, as a client does; then checks that each key was sent and charged exactly once. Returns
// how many retries found their send already committed (answered by a replay).
async function retryAndCheck(srv, keys, attempts) {
  const sid = serviceId(srv, keys.serviceName);
  const unanswered = attempts.filter((a) => !a.answer);
  const storedBefore = new Set(srv.sql(`SELECT receiver FROM messages WHERE service_id = ${sid}`)
    .map((m) => m.receiver));
  const committedUnanswered = unanswered.filter((a) => storedBefore.has(a.to)).length;
  for (const a of unanswered) {
    const r = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys,
      body: a.body, headers: { 'Idempotency-Key': a.key } });
    assert.equal(r.status, 200, `retry of ${a.key}: ${r.text}`);
    a.answer = r;
    a.retried = true;
  }
  // Each key: one answer with one id, and that id is the only message to its receiver.
  const rows = srv.sql(`SELECT id, receiver FROM messages WHERE service_id = ${sid}`);
  const byReceiver = new Map();
  for (const m of rows) byReceiver.set(m.receiver, [...(byReceiver.get(m.receiver) || []), m.id]);
  for (const a of attempts) {
    assert.equal(a.answer.json.ids.length, 1, `${a.key}: ${a.answer.text}`);
    assert.deepEqual(byReceiver.get(a.to), [a.answer.json.ids[0]],
      `${a.key}${a.retried ? ' (retried)' : ''}: messages to ${a.to}: ${JSON.stringify(byReceiver.get(a.to))}`);
  }
  assert.equal(rows.length, attempts.length, 'messages stored != keys sent');
  // Answers received before the crash are replayed identically after it.
  for (const a of attempts.filter((x) => !x.retried).slice(-5)) {
    const r = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys,
      body: a.body, headers: { 'Idempotency-Key': a.key } });
    assert.equal(r.text, a.answer.text, `${a.key}: the replay after the restart differs`);
  }
  const answered = attempts.map((a) => a.answer.json.ids[0]);
  const receivers = new Map(attempts.map((a) => [a.answer.json.ids[0], a.to]));
  const inv = await checkInvariants(srv, keys, answered, receivers);
  return { committedUnanswered, retried: unanswered.length, ...inv };
}

describe('crash safety with Idempotency-Key retries', () => {
  const servers = [];
  after(() => finishAll(servers));

  test('kill -9 during keyed sends, then every unanswered send retried: each key sent and charged once', { timeout: 120000 }, async (t) => {
    const srv = await startServer();
    servers.push(srv);
    const keys = srv.createAccount('crash-idem-kill', CREDITS);
    const s = keyedStream(srv, keys, 'kill');
    await waitFor(() => s.attempts.filter((a) => a.answer).length >= 50,
      { timeoutMs: 10000, what: '50 answered sends' });
    await sleep(500 + Math.floor(Math.random() * 500));
    const exit = await srv.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    const res = await s.done;
    assert.deepEqual(Object.keys(res.statuses), ['200'], `statuses ${JSON.stringify(res.statuses)}`);
    await srv.restart();
    const r = await retryAndCheck(srv, keys, res.attempts);
    t.diagnostic(`kill -9: ${res.attempts.length} keys, ${r.retried} retried, of which `
      + `${r.committedUnanswered} had been committed before the kill; ${r.stored} stored`);
  });

  test('abort() right after a commit (--fault-crash-after-commit), retries replay the committed sends', { timeout: 180000 }, async (t) => {
    const srv = await startServer();
    servers.push(srv);
    const keys = srv.createAccount('crash-idem-fault', CREDITS);
    await srv.stop();
    const attempts = [];
    let committedUnanswered = 0;
    // A crash leaves committed sends unanswered only when its batch held sends (a batch may
    // hold only reads, claims or receipts): more crash points until one did, at most six.
    for (const [i, n] of [9, 60, 400, 35, 150, 250].entries()) {
      if (i >= 3 && committedUnanswered > 0) break;
      await srv.restart([`--fault-crash-after-commit=${n}`]);
      srv.expectLog(new RegExp(`ERROR store: Fault injection: crashing after commit ${n} as configured`));
      const s = keyedStream(srv, keys, `fault${n}`);
      const exit = await srv.waitExit(20000);
      assert.equal(exit.signal, 'SIGABRT', `exit ${JSON.stringify(exit)}`);
      const res = await s.done;
      assert.deepEqual(Object.keys(res.statuses).filter((k) => k !== '200' && k !== '503'), [],
        `statuses ${JSON.stringify(res.statuses)}`);
      // Retry at once, on a healthy server, what this crash left unanswered.
      await srv.stop().catch(() => {});
      await srv.restart();
      const sid = serviceId(srv, keys.serviceName);
      const stored = new Set(srv.sql(`SELECT receiver FROM messages WHERE service_id = ${sid}`).map((m) => m.receiver));
      const lost = res.attempts.filter((a) => !a.answer && stored.has(a.to)).length;
      committedUnanswered += lost;
      t.diagnostic(`crash after commit ${n}: ${res.attempts.length} keys, `
        + `${res.attempts.filter((a) => !a.answer).length} unanswered, ${lost} of them committed`);
      attempts.push(...res.attempts);
      await srv.stop();
    }
    await srv.restart();
    const r = await retryAndCheck(srv, keys, attempts);
    t.diagnostic(`fault injection: ${attempts.length} keys, ${r.retried} retried, ${r.stored} stored`);
    // The point of the test: sends committed whose answer was lost were retried, and replayed.
    assert.ok(committedUnanswered > 0, 'no crash left a committed send unanswered');
  });
});
