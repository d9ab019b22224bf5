// hours.test.mjs - marketing hours (issue 14, point 4; docs/replies.md "Marketing hours"):
// with the test clock (--fault-clock-offset) the server runs on a Sunday in Paris; a marketing
// SMS (STOP clause) to a French number is held, shows when it leaves (heldUntil) and leaves
// at Monday 08:00 Paris time, once the server runs a few seconds before then; a transactional
// one (noStopClause) and a marketing one to a country without hours leave at once; smsctl
// hours list|set, a country set and turned off again (what it held released); a change made
// through one node used by another node on the same database within 2 s.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { DB_KIND, SIM_DELAY_MS, Server, sleep, startServer, waitFor, waitOutgoing }
  from './lib/harness.mjs';

// Sunday 10 January 2027, 16:00 in Paris (CET, UTC+1); the next morning allowed is Monday 11
// January 08:00 CET = 07:00 UTC.
const SUNDAY = Date.UTC(2027, 0, 10, 15, 0, 0);
const MONDAY_8AM = Date.UTC(2027, 0, 11, 7, 0, 0);
const MONDAY_8AM_ISO = '2027-01-11T07:00:00+00:00';

const offsetFor = (target) => String(target - Date.now());
const delivered = (m) => m.deliveryReceipt === 1;

describe('marketing hours', () => {
  let srv, keys, sn, client, offset;
  const ids = {};

  before(async () => {
    offset = offsetFor(SUNDAY);
    srv = await startServer({
      args: ['--marketing-hours=true', '--fault-clock-offset', offset],
      expectedLogs: [/fault-clock-offset/],
    });
    keys = srv.createAccount('hours', 100);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  test('smsctl hours list shows France\'s default', () => {
    const out = srv.smsctlOk(['hours', 'list']).stdout;
    assert.match(out, /^COUNTRY\s+STATE\s+DAYS\s+HOURS\s+TIME ZONE\s+HOLIDAYS$/m);
    assert.match(out, /^fr\s+on\s+mon-sat\s+08:00-20:00\s+Europe\/Paris\s+fr$/m);
    const rows = JSON.parse(srv.smsctlOk(['hours', 'list', '--json']).stdout);
    assert.deepEqual(rows.map((r) => r.country), ['fr']);
    assert.equal(rows[0].enabled, true);
  });

  test('on a Sunday a marketing SMS to France is held until Monday 08:00 Paris time; a '
    + 'transactional one leaves at once', { timeout: 30000 }, async () => {
    const mk = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Soldes ce dimanche', receivers: ['+33612340001'],
    });
    const tr = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Votre code: 1234', noStopClause: true, receivers: ['+33612340002'],
    });
    ids.marketing = mk.ids[0];
    ids.transactional = tr.ids[0];
    const t = await waitOutgoing(client, sn, ids.transactional, delivered);
    // Sent on the server's Sunday, at once.
    assert.ok(Date.parse(t.sentAt) >= SUNDAY && Date.parse(t.sentAt) < SUNDAY + 60000, t.sentAt);
    assert.equal(t.heldUntil, null);

    await sleep(SIM_DELAY_MS * 6);
    const j = await client.requestPromised('GET', `/sms/${sn}/jobs/${ids.marketing}`);
    assert.equal(j.heldUntil, MONDAY_8AM_ISO);
    assert.equal(j.sentAt, null);
    assert.equal(j.deliveryReceipt, 0);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), [ids.marketing]);
    // Stored scheduled, due at Monday 08:00 Paris: the dispatcher does not claim it before.
    const [row] = await srv.sql(`SELECT state, due_ms, stop_clause FROM messages WHERE id = ${ids.marketing}`);
    assert.deepEqual(row, { state: 0, due_ms: MONDAY_8AM, stop_clause: 1 });
    // Not charged twice, not refunded: held is not failed.
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 98);
  });

  test('a country without hours is not held; one set with smsctl is, until turned off',
    { timeout: 30000 }, async () => {
      const de1 = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'Angebot', receivers: ['+4915112340001'],
      });
      const m1 = await waitOutgoing(client, sn, de1.ids[0], delivered);
      assert.equal(m1.heldUntil, null);

      // Bad settings are refused with the field named; nothing is stored.
      let r = srv.smsctl(['hours', 'set', 'de', '--days', 'mon-fri']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /Missing parameter 'timeZone'/);
      r = srv.smsctl(['hours', 'set', 'de', '--tz', 'Europe/Nowhere']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /'timeZone'/);
      r = srv.smsctl(['hours', 'set', 'de', '--tz', 'Europe/Berlin', '--hours', '20:00-08:00']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /parameter 'to'/);
      r = srv.smsctl(['hours', 'set', 'zz', 'off']);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /404/);
      assert.equal(srv.smsctl(['hours', 'set', 'de', 'maybe']).status, 2);

      const set = srv.smsctlOk(['hours', 'set', 'de', '--tz', 'Europe/Berlin', '--days', 'mon-fri',
        '--hours', '09:00-18:30']).stdout;
      assert.match(set, /^de\s+on\s+mon-fri\s+09:00-18:30\s+Europe\/Berlin\s+none$/m);
      const de2 = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'Angebot', receivers: ['+4915112340002'],
      });
      await sleep(SIM_DELAY_MS * 6);
      const j2 = await client.requestPromised('GET', `/sms/${sn}/jobs/${de2.ids[0]}`);
      assert.equal(j2.heldUntil, '2027-01-11T08:00:00+00:00', 'Monday 09:00 in Berlin');
      assert.equal(j2.sentAt, null);

      // Off: the next one leaves at once, and the one held is released (within seconds).
      assert.match(srv.smsctlOk(['hours', 'set', 'de', 'off']).stdout, /^de\s+off\s/m);
      const de3 = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'Angebot', receivers: ['+4915112340003'],
      });
      await waitOutgoing(client, sn, de3.ids[0], delivered);
      const m2 = await waitOutgoing(client, sn, de2.ids[0], delivered, { timeoutMs: 10000 });
      assert.ok(Date.parse(m2.sentAt) < SUNDAY + 3600000, `released on Sunday: ${m2.sentAt}`);
      const rows = JSON.parse(srv.smsctlOk(['hours', 'list', '--json']).stdout);
      assert.deepEqual(rows.map((x) => [x.country, x.enabled]), [['de', false], ['fr', true]]);
      // The French one stays held (released, then held again by France's hours).
      const q = `SELECT state, due_ms FROM messages WHERE id = ${ids.marketing}`;
      await waitFor(async () => (await srv.sql(q))[0].due_ms === MONDAY_8AM,
        { what: 'the French SMS held again', timeoutMs: 10000, intervalMs: 100 });
    });

  test('a backlog of marketing SMS is claimed once each, then left alone until Monday',
    { timeout: 60000 }, async (t) => {
      const k2 = srv.createAccount('hours-backlog', 1000);
      const c2 = srv.sdk(k2);
      const N = 500;
      const receivers = Array.from({ length: N }, (_, i) => `+336120${String(i).padStart(5, '0')}`);
      const t0 = Date.now();
      const rep = await c2.requestPromised('POST', `/sms/${k2.serviceName}/jobs`, {
        message: 'Soldes', receivers,
      });
      assert.equal(rep.ids.length, N);
      const q = `SELECT COUNT(*) AS n, SUM(attempts) AS claims FROM messages m JOIN services s `
        + `ON s.id = m.service_id WHERE s.name = '${k2.serviceName}' AND m.state = 0 AND m.due_ms = ${MONDAY_8AM}`;
      await waitFor(async () => (await srv.sql(q))[0].n === N,
        { what: `all ${N} held until Monday`, timeoutMs: 30000, intervalMs: 100 });
      t.diagnostic(`${N} marketing SMS accepted and held in ${Date.now() - t0} ms`);
      // Each was claimed once; two seconds later none was claimed again (no busy loop).
      assert.equal((await srv.sql(q))[0].claims, N);
      await sleep(2000);
      assert.deepEqual(await srv.sql(q), [{ n: N, claims: N }]);
    });

  test('a change through one node reaches another node within 2 s', { timeout: 60000 }, async () => {
    // Node b on the same database (SQLite: the same data directory; PostgreSQL: the same
    // database), with the same clock as node a (a node whose heartbeats look older than
    // node-timeout-s to the others is declared dead).
    const args = ['--marketing-hours=true', '--fault-clock-offset', offset, '--node', 'node-b'];
    const b = DB_KIND === 'postgres'
      ? new Server({ database: srv.database, args, expectedLogs: [/fault-clock-offset/] })
      : new Server({ args: [...args, '--data', srv.dataDir], expectedLogs: [/fault-clock-offset/] });
    try {
      await b.start();
      const cb = b.sdk(keys);
      const held = () => cb.requestPromised('GET', `/sms/${sn}/jobs/${ids.marketing}`);
      assert.equal((await held()).heldUntil, MONDAY_8AM_ISO);
      // France from 09:00 through node a: node b holds the SMS until Monday 09:00 Paris time.
      srv.smsctlOk(['hours', 'set', 'fr', '--hours', '09:00-20:00']);
      let t0 = Date.now();
      await waitFor(async () => (await held()).heldUntil === '2027-01-11T08:00:00+00:00',
        { what: 'node b to see France from 09:00', timeoutMs: 5000, intervalMs: 50 });
      assert.ok(Date.now() - t0 < 2000, `seen after ${Date.now() - t0} ms`);
      // Back to 08:00: the SMS is held again (by whichever node claims it) until 08:00.
      srv.smsctlOk(['hours', 'set', 'fr', '--hours', '08:00-20:00']);
      t0 = Date.now();
      await waitFor(async () => (await held()).heldUntil === MONDAY_8AM_ISO,
        { what: 'node b to see France from 08:00 again', timeoutMs: 5000, intervalMs: 50 });
      assert.ok(Date.now() - t0 < 2000, `seen after ${Date.now() - t0} ms`);
      const q = `SELECT state, due_ms FROM messages WHERE id = ${ids.marketing}`;
      await waitFor(async () => (await srv.sql(q))[0].due_ms === MONDAY_8AM,
        { what: 'the SMS held again until 08:00', timeoutMs: 10000, intervalMs: 100 });
      assert.deepEqual(await srv.sql(q), [{ state: 0, due_ms: MONDAY_8AM }]);
    } finally {
      await b.finish(); /* stopped, its log checked; the shared database stays */
    }
  });

  test('a few seconds before Monday 08:00 in Paris, the held SMS leaves at 08:00',
    { timeout: 60000 }, async () => {
      await srv.stop();
      // The server's clock starts 5 s before Monday 08:00 Paris time.
      await srv.restart(['--fault-clock-offset', offsetFor(MONDAY_8AM - 5000)]);
      client = srv.sdk(keys);
      const before8 = await client.requestPromised('GET', `/sms/${sn}/jobs/${ids.marketing}`);
      assert.equal(before8.sentAt, null, 'not before 08:00');
      assert.equal(before8.heldUntil, MONDAY_8AM_ISO);
      const m = await waitOutgoing(client, sn, ids.marketing, delivered, { timeoutMs: 20000 });
      const sent = Date.parse(m.sentAt);
      assert.ok(sent >= MONDAY_8AM && sent <= MONDAY_8AM + 3000,
        `sent at ${m.sentAt}, expected Monday 08:00 Paris time (${MONDAY_8AM_ISO})`);
      assert.equal(m.heldUntil, null);
      assert.equal(m.receiver, '+33612340001');
    });
});
