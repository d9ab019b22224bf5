// credits.test.mjs - prices, purchase orders and automatic top-ups (issue #5, spec 5.9,
// docs/credits.md) through the real OVH Node SDK, smsctl and the ledger: the three ways of
// pricing 1,000 SMS to France agree; an order of 100 credits paid with smsctl adds exactly
// 100, paying again changes nothing; bad quantities and countries are 400s; sends use the
// store's prices; a debit across the top-up threshold makes one automatic order.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, sdkError, startServer } from './lib/harness.mjs';

// creditsLeft equals the sum of the ledger, and every row's balance is the previous one plus
// its amount (so the balance never drifted at any point).
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

describe('credits', () => {
  let srv, keys, sn, client;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount('buyer', 10);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  test('the three ways of pricing 1,000 SMS to France in EUR agree', async () => {
    // 1. Per SMS, without logging in (spec 2.7: no auth, plain HTTP, no header at all).
    const r = await srv.raw({ path: '/sms/rates/destinations', query: { country: 'fr', billingCountry: 'fr' },
                              headers: { 'Content-Type': null } });
    assert.equal(r.status, 200, r.text);
    const dest = r.json;
    assert.equal(dest.country, 'France');
    assert.equal(dest.countryCode, 'fr');
    assert.equal(dest.credit, 1);
    assert.equal(dest.price.currencyCode, 'EUR');
    assert.equal(typeof dest.vatRate, 'number');
    // The SDK signs it (it signs every path outside /auth): still accepted.
    assert.deepEqual(await client.requestPromised('GET', '/sms/rates/destinations',
      { country: 'fr', billingCountry: 'fr' }), dest);

    // 2. php-ovh-sms getPrice(): seeOffers for 1000 credits to France in France's currency.
    const offers = await client.requestPromised('GET', `/sms/${sn}/seeOffers`,
      { countryDestination: 'fr', countryCurrencyPrice: 'fr', quantity: 1000 });
    assert.equal(offers.length, 1);
    const offer = offers[0];
    assert.equal(offer.countryDestination, 'fr');
    assert.equal(offer.quantity, 1000);
    assert.equal(offer.smsQuantity, 1000);

    // 3. The cookbook: a quote for 1000 credits (no order is created).
    const quote = await client.requestPromised('GET', `/order/sms/${sn}/credits`, { quantity: 1000 });
    assert.equal(quote.orderId, null);
    assert.equal(quote.url, null);
    assert.equal(quote.prices.withoutTax.currencyCode, 'EUR');
    assert.equal(quote.details.length, 1);
    assert.equal(quote.details[0].quantity, 1000);
    assert.deepEqual(quote.contracts, []);

    const ucents = quote.prices.withoutTax.priceInUcents;
    assert.ok(ucents > 0);
    assert.equal(dest.price.priceInUcents * 1000, ucents, 'destinations x 1000 vs the quote');
    assert.equal(Math.round(offer.price * 1e8), ucents, 'seeOffers vs the quote');
    assert.equal(Math.round(dest.price.value * 1000 * 100), Math.round(quote.prices.withoutTax.value * 100));
    // With tax, the same in both.
    assert.equal(Math.round(offer.totalPrice * 100), Math.round(quote.prices.withTax.value * 100));
    assert.equal(quote.prices.withTax.priceInUcents,
      quote.prices.withoutTax.priceInUcents + quote.prices.tax.priceInUcents);
    assert.match(quote.prices.withoutTax.text, /^\d+\.\d\d €$/);
    // No order was created by the quote.
    assert.deepEqual(srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json, []);
  });

  test('rates/packs lists every pack size with its price', async () => {
    const r = await srv.raw({ path: '/sms/rates/packs', query: { country: 'de', billingCountry: 'gb' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.map((p) => p.creditQuantityMin),
      [100, 200, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000]);
    for (const p of r.json) {
      assert.equal(p.countryCode, 'de');
      assert.equal(p.creditPrice.currencyCode, 'GBP');
      assert.ok(p.credit > 1, 'Germany costs more than France');
      assert.equal(p.smsPrice.priceInUcents, Math.round(p.creditPrice.priceInUcents * p.credit));
    }
    assert.equal(r.json.at(-1).creditQuantityMax, null);
    assert.equal(r.json[0].creditQuantityMax, 199);
    // No authentication: even a wrongly signed call gets the same answer (spec 2.7).
    const bad = await srv.raw({ path: '/sms/rates/packs', query: { country: 'de', billingCountry: 'gb' },
                                keys: srv.createAccount('signer', 0), secret: 'not-the-secret' });
    assert.equal(bad.status, 200, bad.text);
    assert.deepEqual(bad.json, r.json);
  });

  test('an unknown quantity, country or billing country is a 400 naming the parameter', async () => {
    let e = await sdkError(client.requestPromised('GET', `/order/sms/${sn}/credits`, { quantity: 123 }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'quantity'/);
    e = await sdkError(client.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 150 }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'quantity'/);
    e = await sdkError(client.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 'lots' }));
    assert.equal(e.error, 400);
    e = await sdkError(client.requestPromised('POST', `/order/sms/${sn}/credits`, {}));
    assert.equal(e.error, 400);
    assert.match(e.message, /Missing parameter 'quantity'/);
    e = await sdkError(client.requestPromised('GET', `/order/sms/${sn}/credits`));
    assert.equal(e.error, 400);
    e = await sdkError(client.requestPromised('GET', `/sms/${sn}/seeOffers`,
      { countryDestination: 'fr', countryCurrencyPrice: 'fr', quantity: 7 }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'quantity'/);
    e = await sdkError(client.requestPromised('GET', `/sms/${sn}/seeOffers`,
      { countryDestination: 'zz', countryCurrencyPrice: 'fr', quantity: 1000 }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'countryDestination'/);
    e = await sdkError(client.requestPromised('GET', `/sms/${sn}/seeOffers`,
      { countryDestination: 'fr', countryCurrencyPrice: 'xx', quantity: 1000 }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'countryCurrencyPrice'/);

    let r = await srv.raw({ path: '/sms/rates/destinations', query: { country: 'xx' } });
    assertOvhError(r, 400, { message: /'country'/ });
    r = await srv.raw({ path: '/sms/rates/destinations', query: { country: 'FR' } });
    assertOvhError(r, 400, { message: /'country'/ });
    r = await srv.raw({ path: '/sms/rates/destinations' });
    assertOvhError(r, 400, { message: /Missing parameter 'country'/ });
    r = await srv.raw({ path: '/sms/rates/destinations', query: { country: 'fr', billingCountry: 'us' } });
    assertOvhError(r, 400, { message: /'billingCountry'/ });
    r = await srv.raw({ path: '/sms/rates/packs', query: { country: 'nowhere' } });
    assertOvhError(r, 400, { message: /'country'/ });
    // Still no order.
    assert.deepEqual(srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json, []);
  });

  test('ordering 100 credits and paying with smsctl adds exactly 100, once', async () => {
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const order = await client.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 100 });
    assert.ok(Number.isInteger(order.orderId) && order.orderId > 0);
    assert.equal(typeof order.url, 'string');
    assert.equal(order.status, 'unpaid');
    assert.equal(order.details[0].quantity, 100);
    assert.equal(order.prices.withoutTax.currencyCode, 'EUR');
    const quote = await client.requestPromised('GET', `/order/sms/${sn}/credits`, { quantity: 100 });
    assert.deepEqual(order.prices, quote.prices, 'the order costs what the quote said');
    // The order's url answers with the order itself (default, no payment-url configured).
    const path = new URL(order.url).pathname.replace(/^\/1\.0/, '');
    assert.equal(path, `/order/sms/${sn}/credits/${order.orderId}`);
    const same = await client.requestPromised('GET', path);
    assert.equal(same.orderId, order.orderId);
    assert.equal(same.status, 'unpaid');

    // Unpaid: nothing added.
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before);

    let r = srv.smsctlOk(['order', 'pay', String(order.orderId), '--reference', 'invoice-17']);
    assert.match(r.stdout, new RegExp(`order ${order.orderId}: paid, 100 credits added`));
    assert.match(r.stdout, new RegExp(`creditsLeft: ${before + 100}\\n`));
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before + 100);

    // Again: nothing changes, and smsctl says so (exit 0).
    r = srv.smsctlOk(['order', 'pay', String(order.orderId)]);
    assert.match(r.stdout, /already paid/);
    r = srv.smsctlOk(['order', 'pay', String(order.orderId), '--json']);
    assert.equal(r.json.alreadyPaid, true);
    assert.equal(r.json.paymentReference, 'invoice-17');
    const after = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    assert.equal(after, before + 100);

    const rows = assertLedgerExact(srv, sn, after);
    const purchases = rows.filter((x) => x.ref === `order:${order.orderId}`);
    assert.equal(purchases.length, 1);
    assert.equal(purchases[0].kind, 'purchase');
    assert.equal(purchases[0].amount, 100);
    const got = await client.requestPromised('GET', path);
    assert.equal(got.status, 'paid');
    assert.equal(got.paymentMeans, 'smsctl');

    // A paid order cannot be cancelled.
    r = srv.smsctl(['order', 'cancel', String(order.orderId)]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /409/);
  });

  test('a cancelled order cannot be paid; orders are listed with their state', async () => {
    const order = await client.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 250 });
    let r = srv.smsctlOk(['order', 'cancel', String(order.orderId)]);
    assert.match(r.stdout, /cancelled/);
    r = srv.smsctlOk(['order', 'cancel', String(order.orderId)]);
    assert.match(r.stdout, /already cancelled/);
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    r = srv.smsctl(['order', 'pay', String(order.orderId)]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /409.*cancelled/);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before);
    r = srv.smsctl(['order', 'pay', '999999']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /404/);

    const list = srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json;
    assert.deepEqual(list.map((o) => o.status), ['paid', 'cancelled']);
    assert.deepEqual(srv.smsctlOk(['order', 'list', '--state', 'cancelled', '--json']).json
      .map((o) => o.orderId), [order.orderId]);
    r = srv.smsctlOk(['order', 'list', '--service', sn]);
    assert.match(r.stdout, /^ID\s+SERVICE\s+DATE\s+CREDITS\s+STATUS/);
    r = srv.smsctl(['order', 'list', '--state', 'lost']);
    assert.equal(r.status, 2);
  });

  test('another account sees neither the service nor its orders', async () => {
    const other = srv.createAccount('other', 0);
    const oc = srv.sdk(other);
    const mine = srv.smsctlOk(['order', 'list', '--service', sn, '--json']).json[0];
    let e = await sdkError(oc.requestPromised('GET', `/order/sms/${sn}/credits/${mine.orderId}`));
    assert.equal(e.error, 404);
    e = await sdkError(oc.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 100 }));
    assert.equal(e.error, 404);
    e = await sdkError(oc.requestPromised('GET',
      `/order/sms/${other.serviceName}/credits/${mine.orderId}`));
    assert.equal(e.error, 404);
  });

  test('sends are priced from the store: smsctl price set changes what a send costs', async () => {
    const acct = srv.createAccount('pricing', 20);
    const c = srv.sdk(acct);
    let r = srv.smsctlOk(['price', 'set', 'de', '2.5']);
    assert.match(r.stdout, /de: 2\.5 credits per SMS part \(store\)/);
    const d = await c.requestPromised('GET', '/sms/rates/destinations', { country: 'de' });
    assert.equal(d.credit, 2.5);
    let rep = await c.requestPromised('POST', `/sms/${acct.serviceName}/jobs`, {
      message: 'Hallo', noStopClause: true, senderForResponse: true,
      receivers: ['+4915112345678', '+33612345678'],
    });
    assert.equal(rep.totalCreditsRemoved, 3.5);
    assert.equal(rep.creditsLeft, 16.5);

    r = srv.smsctlOk(['price', 'set', 'de', 'default']);
    assert.match(r.stdout, /\(built-in\)/);
    const builtin = (await c.requestPromised('GET', '/sms/rates/destinations', { country: 'de' })).credit;
    rep = await c.requestPromised('POST', `/sms/${acct.serviceName}/jobs`, {
      message: 'Hallo', noStopClause: true, senderForResponse: true, receivers: ['+4915112345679'],
    });
    assert.equal(rep.totalCreditsRemoved, builtin);
    assertLedgerExact(srv, acct.serviceName, rep.creditsLeft);

    r = srv.smsctl(['price', 'set', 'zz', '1']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /404/);
    r = srv.smsctl(['price', 'set', 'fr', '-1']);
    assert.equal(r.status, 2);

    r = srv.smsctlOk(['price', 'list']);
    assert.match(r.stdout, /^COUNTRY\s+CREDITS\s+SOURCE\s+NAME/);
    assert.match(r.stdout, /\nfr\s+1\s+built-in\s+France\n/);
    assert.match(r.stdout, /\nfr\s+EUR\s+20\s+1000\s+70\.00 €\n/);
  });

  test('pack prices and VAT set with smsctl are what quotes and orders charge', async () => {
    let r = srv.smsctlOk(['price', 'set-pack', 'fr', '500', '30']);
    assert.match(r.stdout, /fr: a pack of 500 credits costs 30\.00 € without tax/);
    r = srv.smsctlOk(['price', 'set-vat', 'fr', '10']);
    assert.match(r.stdout, /fr: VAT 10 %/);
    const q = await client.requestPromised('GET', `/order/sms/${sn}/credits`, { quantity: 500 });
    assert.equal(q.prices.withoutTax.value, 30);
    assert.equal(q.prices.tax.value, 3);
    assert.equal(q.prices.withTax.value, 33);
    const o = await client.requestPromised('POST', `/order/sms/${sn}/credits`, { quantity: 500 });
    assert.equal(o.prices.withTax.text, '33.00 €');
    // An order keeps its price when the price list changes later.
    srv.smsctlOk(['price', 'set-pack', 'fr', '500', '35']);
    srv.smsctlOk(['price', 'set-vat', 'fr', '20']);
    const again = await client.requestPromised('GET', `/order/sms/${sn}/credits/${o.orderId}`);
    assert.equal(again.prices.withTax.value, 33);
    srv.smsctlOk(['order', 'cancel', String(o.orderId)]);
    srv.smsctlOk(['price', 'set-pack', 'fr', '500', '35']);

    r = srv.smsctl(['price', 'set-pack', 'fr', '123', '5']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /404/);
    r = srv.smsctl(['price', 'set-pack', 'us', '100', '5']);
    assert.equal(r.status, 1);
    r = srv.smsctl(['price', 'set-vat', 'fr', '101']);
    assert.equal(r.status, 2);
  });

  test('automatic top-up: a send across the threshold makes one order, paid by the account', async () => {
    const acct = srv.createAccount('auto', 6);
    const c = srv.sdk(acct);
    const asn = acct.serviceName;
    let e = await sdkError(c.requestPromised('PUT', `/sms/${asn}`, { automaticRecreditAmount: 150 }));
    assert.equal(e.error, 400);
    assert.match(e.message, /automaticRecreditAmount/);
    assert.equal(await c.requestPromised('PUT', `/sms/${asn}`, {
      automaticRecreditAmount: 100, creditThresholdForAutomaticRecredit: 5,
    }), null);
    const send = (n) => c.requestPromised('POST', `/sms/${asn}/jobs`, {
      message: 'x', noStopClause: true, senderForResponse: true,
      receivers: Array.from({ length: n }, (_, i) => `+3361234${String(5000 + i)}`),
    });
    // 6 -> 5: not below the threshold.
    let rep = await send(1);
    assert.equal(rep.creditsLeft, 5);
    assert.deepEqual(srv.smsctlOk(['order', 'list', '--service', asn, '--json']).json, []);
    // 5 -> 3: crossed; the order is paid in the send's own transaction.
    rep = await send(2);
    assert.equal(rep.creditsLeft, 103);
    let orders = srv.smsctlOk(['order', 'list', '--service', asn, '--json']).json;
    assert.equal(orders.length, 1);
    assert.equal(orders[0].automatic, true);
    assert.equal(orders[0].quantity, 100);
    assert.equal(orders[0].status, 'paid');
    assert.equal(orders[0].paymentMeans, 'account');
    // Further sends above the threshold: nothing.
    rep = await send(3);
    assert.equal(rep.creditsLeft, 100);
    orders = srv.smsctlOk(['order', 'list', '--service', asn, '--json']).json;
    assert.equal(orders.length, 1);
    const rows = assertLedgerExact(srv, asn, 100);
    assert.deepEqual(rows.filter((x) => x.kind === 'topup').map((x) => [x.amount, x.ref]),
      [[100, `order:${orders[0].orderId}`]]);
    const acc = await c.requestPromised('GET', `/sms/${asn}`);
    assert.equal(acc.automaticRecreditAmount, 100);
    assert.equal(acc.creditThresholdForAutomaticRecredit, 5);
  });
});
