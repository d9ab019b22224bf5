// credits-concurrency.test.mjs - automatic top-up under load (issue #5): hundreds of sends from
// as many connections at once carry the balance across the top-up threshold several times;
// there must be exactly one automatic order per crossing, every send accepted, and the balance
// must never drift from the ledger (every balance a client saw is a ledger balance, and the
// final one is the ledger's sum).
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer } from './lib/harness.mjs';

const N = 400;          // sends, one credit each, all in flight at once
const START = 150;      // credits
const AMOUNT = 100;     // automaticRecreditAmount
const THRESHOLD = 100;  // creditThresholdForAutomaticRecredit

// The store runs debits one after another, so the number of crossings does not depend on the
// order the sends arrive in: replay them one by one.
function model(start, threshold, amount, n) {
  let b = start;
  let crossings = 0;
  for (let i = 0; i < n; i++) {
    const before = b;
    b -= 1;
    if (before >= threshold && b < threshold) {
      b += amount;
      crossings++;
    }
  }
  return { crossings, final: b };
}

function assertLedgerExact(srv, sn, creditsLeft) {
  const rows = srv.ledger(sn);
  let sum = 0;
  for (const r of rows) {
    sum = Math.round((sum + r.amount) * 1000) / 1000;
    assert.equal(r.balance, sum, `ledger row ${JSON.stringify(r)}: balance is not the running sum`);
  }
  assert.equal(creditsLeft, sum, `creditsLeft ${creditsLeft} but the ledger sums to ${sum}`);
  return rows;
}

describe('automatic top-up under concurrent sends', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.finish(); });

  test(`${N} sends from ${N} connections at once: one order per crossing, no drift`, async () => {
    const keys = srv.createAccount('burst', START);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    assert.equal(await client.requestPromised('PUT', `/sms/${sn}`, {
      automaticRecreditAmount: AMOUNT, creditThresholdForAutomaticRecredit: THRESHOLD,
    }), null);
    const expect = model(START, THRESHOLD, AMOUNT, N);
    assert.ok(expect.crossings >= 3, 'the burst crosses the threshold several times');

    // Each send on its own connection (agent: false), over plain HTTP and over TLS through the
    // SDK, all started before any answer arrives; meanwhile a reader samples the balance.
    const seen = [];
    let sending = true;
    const reader = (async () => {
      while (sending) {
        const r = await srv.raw({ path: `/sms/${sn}`, keys });
        assert.equal(r.status, 200, r.text);
        seen.push(r.json.creditsLeft);
      }
    })();
    const sends = [];
    for (let i = 0; i < N; i++) {
      const body = { message: `burst ${i}`, noStopClause: true, senderForResponse: true,
                     receivers: [`+336${String(10000000 + i).padStart(8, '0')}`] };
      if (i % 8 === 0) {
        sends.push(client.requestPromised('POST', `/sms/${sn}/jobs`, body));
      } else {
        sends.push(srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys, body }).then((r) => {
          assert.equal(r.status, 200, r.text);
          return r.json;
        }));
      }
    }
    const reports = await Promise.all(sends);
    sending = false;
    await reader;

    // Every send was accepted and charged one credit.
    for (const rep of reports) {
      assert.equal(rep.totalCreditsRemoved, 1);
      assert.equal(rep.ids.length, 1);
    }
    assert.equal(new Set(reports.flatMap((r) => r.ids)).size, N, 'one id per SMS');

    const orders = srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json;
    assert.equal(orders.length, expect.crossings, `orders: ${JSON.stringify(orders)}`);
    for (const o of orders) {
      assert.equal(o.automatic, true);
      assert.equal(o.quantity, AMOUNT);
      assert.equal(o.status, 'paid');
      assert.equal(o.paymentMeans, 'account');
    }

    const acc = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(acc.creditsLeft, expect.final);
    const rows = assertLedgerExact(srv, sn, acc.creditsLeft);
    assert.equal(rows.filter((r) => r.kind === 'debit').length, N);
    assert.equal(rows.filter((r) => r.kind === 'topup').length, expect.crossings);
    assert.deepEqual(rows.filter((r) => r.kind === 'topup').map((r) => r.ref).sort(),
      orders.map((o) => `order:${o.orderId}`).sort());
    // Every balance a client was told is a balance the ledger passed through.
    const balances = new Set(rows.map((r) => r.balance));
    for (const b of seen) assert.ok(balances.has(b), `a reader saw ${b}, not a ledger balance`);
    for (const rep of reports) {
      assert.ok(balances.has(rep.creditsLeft), `a send reported ${rep.creditsLeft}`);
    }
    // Never below the threshold minus one send after a top-up was due: no send was refused.
    assert.ok(Math.min(...rows.map((r) => r.balance)) >= THRESHOLD - 1);
  });
});
