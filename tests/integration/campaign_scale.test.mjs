// campaign_scale.test.mjs - a campaign of 200,000 receivers end to end (issue 6, "Done when"),
// kept apart from campaign.test.mjs so that it can be tagged slow; it runs in CI.
//   * a 200,000-row CSV (plus refused rows) is loaded from a csvUrl into a slot; the refused
//     rows are counted and reported;
//   * one templated job sends to all of them: every receiver gets exactly one SMS, rendered
//     with its own columns, and the sim delivers every one;
//   * fairness: a priority "high" SMS sent right after the campaign was accepted is submitted
//     to the operator within a second, ahead of the campaign's queue (measured on the store's
//     own event times);
//   * smsgated's peak RSS (VmHWM) stays under 200 MB.
// The figures it prints (load, accept, delivery times) are those of bench/campaign.mjs, which
// adds callbacks; docs/benchmarks.md has them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from './lib/test.mjs';

import { DB_KIND, startServer, uniq, waitFor } from './lib/harness.mjs';

// On PostgreSQL (the suite's second run) a quarter of it: the whole takes about 280 s there
// today (docs/benchmarks.md, "PostgreSQL store"), too long for CI's budget run twice; the
// scale itself is SQLite's figure of issue 6.
const ROWS = DB_KIND === 'postgres' ? 50000 : 200000;
const BAD = ['12', 'not a number', '', '+3361234', '0000000000', '+33 6 00 00 00 1x'];
const EVERY = Math.floor(ROWS / BAD.length); // one refused row that often: every one of BAD
// The high-priority SMS's bound from creation to submit: a second on SQLite; on PostgreSQL the
// store is still several times slower per message (docs/benchmarks.md, "PostgreSQL store":
// issue 13's performance targets are not met yet) and the bound is three.
const OTP_MS = DB_KIND === 'postgres' ? 3000 : 1000;
const RSS_LIMIT_KB = 200 * 1024;

// Receiver i: +336 followed by 8 digits ending in 0, so the sim delivers it (901-904 fail).
const number = (i) => `+336${String(i * 10).padStart(8, '0')}`;

function buildCsv() {
  const parts = ['number;first;code\r\n'];
  for (let i = 0; i < ROWS; i++) {
    parts.push(`${number(i)};Name${i};C${i % 997}\r\n`);
    if (i % EVERY === 7) parts.push(`${BAD[(i / EVERY) | 0]};Bad;X\r\n`);
  }
  return parts.join('');
}

function vmHWMkB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
}

describe('a campaign of 200,000 receivers', { timeout: 900000 }, () => {
  let srv, csvSrv, csv;
  before(async () => {
    srv = await startServer({ simDelayMs: 20 });
    csv = buildCsv();
    csvSrv = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      res.end(csv);
    });
    await new Promise((r) => csvSrv.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      csvSrv?.closeAllConnections();
      await new Promise((r) => csvSrv ? csvSrv.close(r) : r());
    }
  });

  test('every receiver gets exactly one SMS, a high-priority SMS overtakes, RSS < 200 MB',
    { timeout: 900000 }, async () => {
      const keys = srv.createAccount(uniq('big'), ROWS + 1000);
      const sn = keys.serviceName;
      const client = srv.sdk(keys);
      const pid = srv.proc.pid;

      let t0 = Date.now();
      const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
        slotId: 1, description: '200k', autoUpdate: false,
        csvUrl: `http://127.0.0.1:${csvSrv.address().port}/big.csv`,
      });
      const loadMs = Date.now() - t0;
      assert.equal(slot.records, ROWS + BAD.length);
      assert.equal(slot.validRecords, ROWS);
      assert.equal(slot.invalidRecords, BAD.length);
      assert.deepEqual(slot.invalidRows.map((r) => r.receiver).sort(), [...BAD].sort());
      assert.ok(slot.invalidRows.every((r) => r.reason && r.line > 1), JSON.stringify(slot.invalidRows));

      t0 = Date.now();
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'Hi #first#, your code is #code#.', receiversSlotId: '1',
        senderForResponse: true, noStopClause: true, tag: 'big',
      });
      const acceptMs = Date.now() - t0;
      assert.equal(rep.validReceiversCount, ROWS);
      assert.equal(rep.invalidReceiversCount, BAD.length);
      assert.equal(rep.totalCreditsRemoved, ROWS);
      assert.deepEqual([...rep.invalidReceivers].sort(), [...BAD].sort());

      // Fairness: a one-time code with priority high, sent now, while 200,000 wait.
      const otp = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'Your code: 424242', receivers: ['+33699999990'], priority: 'high',
        senderForResponse: true, noStopClause: true, tag: 'otp',
      });
      const otpId = otp.ids[0];
      let sentSeen = 0;
      const tOtp = Date.now();
      await waitFor(async () => {
        const m = await client.requestPromised('GET', `/sms/${sn}/outgoing/${otpId}`);
        if (m.sentAt) sentSeen = Date.now() - tOtp;
        return m.sentAt;
      }, { what: 'the high-priority SMS to be submitted', timeoutMs: 30000, intervalMs: 20 });

      const started = Date.now();
      let last;
      await waitFor(async () => {
        last = await client.requestPromised('GET', `/sms/${sn}/tags/big/statistics`);
        return last.delivered + last.failed === ROWS;
      }, { what: 'every SMS of the campaign delivered', timeoutMs: 600000, intervalMs: 2000 });
      const deliverMs = Date.now() - started + acceptMs;
      assert.equal(last.delivered, ROWS, JSON.stringify(last));
      assert.equal(last.total, ROWS);

      // The store's own times: the high SMS was created and submitted within a second, while
      // most of the campaign was still waiting.
      const [o] = srv.sql(`SELECT m.created_ms AS created, e.ts_ms AS submitted FROM messages m `
        + `JOIN events e ON e.message_id = m.id AND e.state = 3 WHERE m.id = ${otpId}`);
      const otpLatency = o.submitted - o.created;
      const [behind] = srv.sql(`SELECT COUNT(*) AS n FROM events e JOIN messages m ON `
        + `m.id = e.message_id WHERE m.tag = 'big' AND e.state = 3 AND e.ts_ms > ${o.submitted}`);
      assert.ok(otpLatency <= OTP_MS, `the high-priority SMS took ${otpLatency} ms to be submitted`);
      assert.ok(behind.n > ROWS / 2, `only ${behind.n} campaign SMS were submitted after it`);

      // Exactly one SMS per receiver, each rendered from its own row, all delivered once.
      const [agg] = srv.sql(`SELECT COUNT(*) AS n, COUNT(DISTINCT receiver) AS receivers, `
        + `SUM(CASE WHEN state = 5 THEN 1 ELSE 0 END) AS delivered, MIN(receiver) AS lo, `
        + `MAX(receiver) AS hi, SUM(CASE WHEN message = 'Hi Name' `
        + `|| CAST((CAST(substr(receiver, 5) AS INTEGER) / 10) AS TEXT) `
        + `|| ', your code is C' || CAST((CAST(substr(receiver, 5) AS INTEGER) / 10) % 997 AS TEXT) `
        + `|| '.' THEN 1 ELSE 0 END) AS rendered FROM messages WHERE tag = 'big'`);
      assert.deepEqual(agg, { n: ROWS, receivers: ROWS, delivered: ROWS, lo: number(0),
        hi: number(ROWS - 1), rendered: ROWS });
      const [sim] = srv.sql(`SELECT COUNT(*) AS n, SUM(deliveries) AS d, MAX(submits) AS s `
        + `FROM sim_messages s JOIN messages m ON m.id = s.message_id WHERE m.tag = 'big'`);
      assert.deepEqual(sim, { n: ROWS, d: ROWS, s: 1 });
      assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 1000 - 1);

      const hwm = vmHWMkB(pid);
      const status = srv.smsctlOk(['campaign', 'status', '--service', sn, 'big'], {
        env: { OVH_APPLICATION_KEY: keys.appKey, OVH_APPLICATION_SECRET: keys.appSecret,
          OVH_CONSUMER_KEY: keys.consumerKey },
      });
      assert.match(status.stdout, new RegExp(`delivered ${ROWS}, failed 0 \\(100% final\\)`));
      console.log(`# 200,000 rows: load ${loadMs} ms, accept ${acceptMs} ms, all delivered `
        + `${deliverMs} ms after the job was posted; high-priority SMS submitted ${otpLatency} ms `
        + `after creation (seen by polling after ${sentSeen} ms), ${behind.n} campaign SMS `
        + `submitted after it; peak RSS ${(hwm / 1024).toFixed(1)} MB`);
      assert.ok(hwm > 0 && hwm < RSS_LIMIT_KB, `smsgated's peak RSS is ${hwm} kB`);
    });
});
