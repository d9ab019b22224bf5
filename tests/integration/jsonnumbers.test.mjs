// jsonnumbers.test.mjs - issue 15, point 7: numbers on the wire as OVH writes them. Prices,
// credits and rates are printed with the precision of their type in every JSON answer
// (util/jsonfmt.h): GET /sms/rates/destinations says "value":0.14, not
// 0.14000000000000001, and a sending report says 0.3 credits, not 0.29999999999999999, the
// same when it is replayed from its Idempotency-Key record. The assertions read the body's
// TEXT: a parsed JSON number would hide the artefact.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, uniq } from './lib/harness.mjs';

// A number printed with 15 or more fractional digits: the full expansion of a double.
const ARTEFACT = /\d\.\d{15,}/;

describe('JSON numbers', () => {
  let srv;

  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.finish(); });

  test('GET /sms/rates/destinations answers 0.14 (the text of the body)', async () => {
    // 2 credits per SMS at 0.07 EUR per credit: 2 * 0.07 is 0.14000000000000001 as a double
    // printed with 17 digits (issue 15's example).
    srv.smsctlOk(['price', 'set', 'es', '2']);
    const r = await srv.raw({ path: '/sms/rates/destinations',
                              query: { country: 'es', billingCountry: 'fr' } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"value":0\.14[,}]/, r.text);
    assert.match(r.text, /"text":"0\.14 /, r.text);
    assert.doesNotMatch(r.text, ARTEFACT, r.text);
    assert.equal(r.json.price.value, 0.14);
    srv.smsctlOk(['price', 'set', 'es', 'default']);
  });

  test('a price, a sending report and its replay carry no binary-float artefact', async () => {
    const keys = srv.createAccount(uniq('num'), 10);
    const sn = keys.serviceName;
    // 0.1 credit per part to Germany: three SMS cost 0.3 (a double sum prints 0.30000000000000004,
    // 300 thousandths divided by 1000 prints 0.29999999999999999 at 17 digits).
    srv.smsctlOk(['price', 'set', 'de', '0.1']);
    let r = await srv.raw({ path: '/sms/rates/destinations', query: { country: 'de' } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"credit":0\.1[,}]/, r.text);
    assert.doesNotMatch(r.text, ARTEFACT, r.text);

    const body = { message: 'Hallo', noStopClause: true, senderForResponse: true,
                   receivers: ['+4915112345671', '+4915112345672', '+4915112345673'] };
    const headers = { 'Idempotency-Key': uniq('num-key') };
    r = await srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys, body, headers });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"totalCreditsRemoved":0\.3[,}]/, r.text);
    assert.match(r.text, /"creditsLeft":9\.7[,}]/, r.text);
    assert.doesNotMatch(r.text, ARTEFACT, r.text);
    // The same answer replayed from the record stored with the send (idem.c's rendering).
    const again = await srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys, body, headers });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.text, r.text);

    // The service and one SMS of the send.
    r = await srv.raw({ path: `/sms/${sn}`, keys });
    assert.match(r.text, /"creditsLeft":9\.7[,}]/, r.text);
    const id = JSON.parse(again.text).ids[0];
    r = await srv.raw({ path: `/sms/${sn}/outgoing/${id}`, keys });
    if (r.status === 404) r = await srv.raw({ path: `/sms/${sn}/jobs/${id}`, keys });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /"credits":0\.1[,}]/, r.text);
    assert.doesNotMatch(r.text, ARTEFACT, r.text);
    srv.smsctlOk(['price', 'set', 'de', 'default']);
  });

  test('smsctl prints the same numbers as the API', () => {
    const r = srv.smsctlOk(['price', 'set', 'it', '0.07']);
    assert.doesNotMatch(r.stdout, ARTEFACT, r.stdout);
    const d = srv.smsctlOk(['price', 'list', '--json']);
    assert.doesNotMatch(d.stdout, ARTEFACT, d.stdout);
    srv.smsctlOk(['price', 'set', 'it', 'default']);
  });
});
