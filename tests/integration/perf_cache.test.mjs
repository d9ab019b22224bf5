// perf_cache.test.mjs - what the speed-ups of issue #7 must not change, seen from a client:
//   * the API remembers credentials and services (src/api/api_cache.h): a consumer key refused
//     or validated again takes effect on the very next call, a remembered service name stays
//     another account's 404, and a send with no valid receiver shows the balance of the moment;
//   * the store gathers concurrent operations into larger group commits (src/store/store.c):
//     many sends at once are all answered, each with its own id, and all of them are stored
//     and billed exactly once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, startServer } from './lib/harness.mjs';

describe('speed-ups that must not show (issue #7)', () => {
  let srv, a, b;
  const send = (keys, receivers, extra = {}) => srv.raw({
    method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys,
    body: { message: 'hello', receivers, senderForResponse: true, noStopClause: true, ...extra },
  });

  before(async () => {
    srv = await startServer();
    a = srv.createAccount('cache-a', 1000);
    b = srv.createAccount('cache-b', 1000);
  });
  after(async () => { await srv?.finish(); });

  test('a consumer key refused while it is in use is refused on its next call', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await send(a, ['+33612000001']);
      assert.equal(r.status, 200, r.text);
    }
    srv.smsctlOk(['credential', 'refuse', a.consumerKey]);
    assertOvhError(await send(a, ['+33612000002']), 403, { errorCode: 'INVALID_CREDENTIAL' });
    srv.smsctlOk(['credential', 'validate', a.consumerKey]);
    const r = await send(a, ['+33612000003']);
    assert.equal(r.status, 200, r.text);
  });

  test("a service name remembered for one account is still 404 for another", async () => {
    assert.equal((await send(a, ['+33612000004'])).status, 200);
    const r = await srv.raw({
      method: 'POST', path: `/sms/${a.serviceName}/jobs`, keys: b,
      body: { message: 'hello', receivers: ['+33612000005'], senderForResponse: true },
    });
    assertOvhError(r, 404, {});
  });

  test('a send without a valid receiver shows the balance of the moment', async () => {
    const before = await send(b, ['+33612000006', '+33612000007']);
    assert.equal(before.status, 200, before.text);
    const left = before.json.creditsLeft;
    const none = await send(b, ['12', 'not a number']);
    assert.equal(none.status, 200, none.text);
    assert.deepEqual(none.json.ids, []);
    assert.deepEqual(none.json.invalidReceivers, ['12', 'not a number']);
    assert.equal(none.json.creditsLeft, left);
    srv.smsctlOk(['service', 'credit', b.serviceName, '5', '--reason', 'test']);
    const again = await send(b, ['12']);
    assert.equal(again.json.creditsLeft, left + 5, 'an adjustment shows at once');
  });

  test('sends arriving together share commits and are each stored and billed once', async () => {
    const n = 200;
    const debits = () => srv.ledger(a.serviceName).filter((e) => e.kind === 'debit').length;
    const balance0 = srv.ledger(a.serviceName).at(-1).balance, debits0 = debits();
    const rs = await Promise.all(Array.from({ length: n }, (_, i) =>
      send(a, [`+3361300${String(i).padStart(4, '0')}`], { tag: 'group' })));
    const ids = new Set();
    for (const r of rs) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.ids.length, 1);
      ids.add(r.json.ids[0]);
    }
    assert.equal(ids.size, n, 'every send got its own id');
    const [row] = srv.sql("SELECT COUNT(*) AS n, SUM(credits) AS c FROM messages WHERE tag = 'group'");
    assert.deepEqual(row, { n, c: n * 1000 });
    assert.equal(debits() - debits0, n, 'one debit per send');
    assert.equal(srv.ledger(a.serviceName).at(-1).balance, balance0 - n);
  });
});
