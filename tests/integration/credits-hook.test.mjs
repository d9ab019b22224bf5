// credits-hook.test.mjs - the payment hook (issue #5, docs/credits.md): a command and a URL that
// an operator plugs in to collect payment. Orders are handed to it; its answer pays the order
// (credits added once), leaves it waiting for `smsctl order pay`, refuses it (cancelled), or
// fails (retried with backoff). With a hook, an automatic top-up is paid by the hook too, and
// sends racing across the threshold still make one order.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, waitFor } from './lib/harness.mjs';

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

async function waitOrder(client, sn, id, pred, what) {
  let last;
  await waitFor(async () => {
    last = await client.requestPromised('GET', `/order/sms/${sn}/credits/${id}`);
    return pred(last);
  }, { timeoutMs: 15000, what }).catch((e) => {
    throw new Error(`${e.message}\nlast order: ${JSON.stringify(last)}`);
  });
  return last;
}

describe('payment hook: a command', () => {
  let srv, dir, calls;
  before(async () => {
    dir = fs.mkdtempSync(path.join(process.env.SMSGATE_TEST_TMP || '/tmp', 'payhook-'));
    calls = path.join(dir, 'calls.txt');
    const script = path.join(dir, 'pay.sh');
    // 100 and 1000 credits: paid; 200: waiting; 250: refused; 500: fails once, then paid.
    fs.writeFileSync(script, `#!/bin/sh
echo "$SMSGATE_ORDER_ID $SMSGATE_SERVICE $SMSGATE_QUANTITY $SMSGATE_AUTOMATIC $SMSGATE_CURRENCY $SMSGATE_PRICE $SMSGATE_PRICE_WITH_TAX $SMSGATE_ATTEMPT" >> '${calls}'
case "$SMSGATE_QUANTITY" in
  200) exit 2 ;;
  250) exit 3 ;;
  500) if [ ! -e '${dir}'/failed.$SMSGATE_ORDER_ID ]; then
         touch '${dir}'/failed.$SMSGATE_ORDER_ID; echo "card declined" >&2; exit 1
       fi ;;
esac
echo "tx-$SMSGATE_ORDER_ID"
`, { mode: 0o755 });
    srv = await startServer({ args: ['--payment-hook', script],
                              expectedLogs: [/WARN payhook: Payment hook for order \d+ of '[^']+' failed \(attempt 1\): exit status 1: card declined; next attempt in 5 s\./] });
  });
  after(async () => {
    await srv?.finish();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const callLines = () => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '')
    .split('\n').filter(Boolean).map((l) => l.split(' '));

  test('an order the hook pays adds its credits once, with the hook\'s reference', async () => {
    const keys = srv.createAccount('hookpaid', 1);
    const c = srv.sdk(keys);
    const sn = keys.serviceName;
    const o = await c.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 100 });
    assert.equal(o.status, 'unpaid');
    const paid = await waitOrder(c, sn, o.orderId, (x) => x.status === 'paid', 'the hook to pay');
    assert.equal(paid.paymentMeans, 'hook');
    const mine = callLines().filter((l) => l[0] === String(o.orderId));
    assert.deepEqual(mine, [[String(o.orderId), sn, '100', '0', 'EUR', '7.00', '8.40', '1']]);
    const acc = await c.requestPromised('GET', `/sms/${sn}`);
    assert.equal(acc.creditsLeft, 101);
    const rows = assertLedgerExact(srv, sn, 101);
    assert.equal(rows.filter((r) => r.ref === `order:${o.orderId}`).length, 1);
    const shown = srv.smsctlOk(['order', 'show', String(o.orderId), '--json']).json;
    assert.equal(shown.paymentReference, `tx-${o.orderId}`);
    assert.equal(shown.hook, 'done');
    // smsctl pay afterwards: already paid, nothing changes.
    const r = srv.smsctlOk(['order', 'pay', String(o.orderId)]);
    assert.match(r.stdout, /already paid/);
    assert.equal((await c.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 101);
  });

  test('waiting, refused and failing answers', async () => {
    const keys = srv.createAccount('hookmixed', 0);
    const c = srv.sdk(keys);
    const sn = keys.serviceName;
    const waiting = await c.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 200 });
    const refused = await c.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 250 });
    const flaky = await c.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 500 });

    await waitOrder(c, sn, refused.orderId, (x) => x.status === 'cancelled', 'the refusal');
    await waitFor(() => callLines().some((l) => l[0] === String(waiting.orderId)),
      { what: 'the hook to be asked about the waiting order' });
    // The hook answered "waiting": the order stays unpaid until the payment system pays it.
    await waitFor(() => srv.smsctlOk(['order', 'show', String(waiting.orderId), '--json']).json.hook === 'done',
      { what: 'the waiting answer to be recorded' });
    assert.equal((await c.requestPromised('GET', `/order/sms/${sn}/credits/${waiting.orderId}`)).status, 'unpaid');
    const r = srv.smsctlOk(['order', 'pay', String(waiting.orderId), '--reference', 'bank-transfer-7']);
    assert.match(r.stdout, /paid, 200 credits added/);

    // The failing one is asked again after the backoff, then paid.
    const paid = await waitOrder(c, sn, flaky.orderId, (x) => x.status === 'paid', 'the retry');
    assert.equal(paid.paymentMeans, 'hook');
    const attempts = callLines().filter((l) => l[0] === String(flaky.orderId)).map((l) => l[7]);
    assert.deepEqual(attempts, ['1', '2']);

    const acc = await c.requestPromised('GET', `/sms/${sn}`);
    assert.equal(acc.creditsLeft, 700);
    assertLedgerExact(srv, sn, 700);
    // Nobody asks the hook about settled orders again.
    const n = callLines().length;
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(callLines().length, n);
  });

  test('automatic top-up through the hook: racing sends make one order', async () => {
    const keys = srv.createAccount('hookauto', 30);
    const c = srv.sdk(keys);
    const sn = keys.serviceName;
    await c.requestPromised('PUT', `/sms/${sn}`, {
      automaticRecreditAmount: 1000, creditThresholdForAutomaticRecredit: 25,
    });
    // 20 sends at once: 30 -> 10, crossing 25 once; the order waits for the hook meanwhile.
    const reps = await Promise.all(Array.from({ length: 20 }, (_, i) => srv.raw({
      method: 'POST', path: `/sms/${sn}/jobs`, keys,
      body: { message: 'x', noStopClause: true, senderForResponse: true,
              receivers: [`+3362${String(1000000 + i).padStart(7, '0')}`] },
    })));
    for (const r of reps) assert.equal(r.status, 200, r.text);
    let orders = srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json;
    assert.equal(orders.length, 1);
    assert.equal(orders[0].automatic, true);
    assert.equal(orders[0].quantity, 1000);
    const o = await waitOrder(c, sn, orders[0].orderId, (x) => x.status === 'paid', 'the hook to pay the top-up');
    assert.equal(o.paymentMeans, 'hook');
    const line = callLines().find((l) => l[0] === String(orders[0].orderId));
    assert.equal(line[3], '1', 'SMSGATE_AUTOMATIC');
    orders = srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json;
    assert.equal(orders.length, 1);
    const acc = await c.requestPromised('GET', `/sms/${sn}`);
    assert.equal(acc.creditsLeft, 1010);
    assertLedgerExact(srv, sn, 1010);
  });
});

describe('payment hook: a URL', () => {
  let srv, hook, port;
  const seen = [];
  before(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const j = JSON.parse(body);
        seen.push({ headers: req.headers, body: j, url: req.url });
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(j.quantity === 200 ? { status: 'pending' }
          : { status: 'paid', reference: `card-${j.orderId}` }));
      });
    });
    await new Promise((r) => hook.listen(0, '127.0.0.1', r));
    port = hook.address().port;
    srv = await startServer({ args: ['--payment-hook', `http://127.0.0.1:${port}/pay`,
                                     '--payment-url', 'https://pay.example.com/o/{orderId}?s={serviceName}'] });
  });
  after(async () => {
    await srv?.finish();
    await new Promise((r) => hook.close(r));
  });

  test('each order is POSTed as JSON; "paid" pays it, "pending" waits', async () => {
    const keys = srv.createAccount('urlhook', 0);
    const c = srv.sdk(keys);
    const sn = keys.serviceName;
    const o = await c.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 1000 });
    assert.equal(o.url, `https://pay.example.com/o/${o.orderId}?s=${sn}`);
    const w = await c.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 200 });
    const paid = await waitOrder(c, sn, o.orderId, (x) => x.status === 'paid', 'the URL hook');
    assert.equal(paid.paymentMeans, 'hook');
    await waitFor(() => seen.some((s) => s.body.orderId === w.orderId), { what: 'the second call' });
    const call = seen.find((s) => s.body.orderId === o.orderId);
    assert.equal(call.url, '/pay');
    assert.equal(call.headers['idempotency-key'], `smsgate-order-${o.orderId}`);
    assert.match(call.headers['content-type'], /^application\/json/);
    assert.deepEqual(call.body, {
      orderId: o.orderId, serviceName: sn, quantity: 1000, automatic: false,
      billingCountry: 'fr', currency: 'EUR', priceWithoutTax: 70, tax: 14, priceWithTax: 84,
      attempt: 1,
    });
    assert.equal(srv.smsctlOk(['order', 'show', String(o.orderId), '--json']).json.paymentReference,
      `card-${o.orderId}`);
    await waitFor(() => srv.smsctlOk(['order', 'show', String(w.orderId), '--json']).json.hook === 'done',
      { what: 'the pending answer to be recorded' });
    assert.equal((await c.requestPromised('GET', `/order/sms/${sn}/credits/${w.orderId}`)).status, 'unpaid');
    const acc = await c.requestPromised('GET', `/sms/${sn}`);
    assert.equal(acc.creditsLeft, 1000);
    assertLedgerExact(srv, sn, 1000);
  });
});
