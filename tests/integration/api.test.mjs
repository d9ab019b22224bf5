// api.test.mjs - the OVH SMS workflow through the real npm `ovh` 2.0.3 SDK: time, accounts,
// a first SMS to delivery, invalid receivers, ptts, estimate, account settings, and the URL
// forms (trailing slash, /v1 alias).
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, sdkError, startServer, waitOutgoing } from './lib/harness.mjs';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$/;

describe('OVH SMS API through the Node SDK', () => {
  let srv, keys, sn, client;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount('basics', 20);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  test('GET /auth/time is a bare integer close to now', async () => {
    const t = await client.requestPromised('GET', '/auth/time');
    assert.ok(Number.isInteger(t), `got ${JSON.stringify(t)}`);
    assert.ok(Math.abs(t - Date.now() / 1000) < 5, `server time ${t} vs local ${Date.now() / 1000}`);
    // Also without any header at all, over plain HTTP.
    const r = await srv.raw({ path: '/auth/time', headers: { 'Content-Type': null } });
    assert.equal(r.status, 200);
    assert.equal(r.text.trim(), String(r.json));
    assert.ok(Number.isInteger(r.json));
    assert.match(r.headers['content-type'], /^application\/json/);
  });

  test('GET /sms lists exactly the account\'s service', async () => {
    assert.equal(sn, 'sms-basics-1');
    assert.deepEqual(await client.requestPromised('GET', '/sms'), ['sms-basics-1']);
  });

  test('GET /sms/{sn} returns an sms.Account', async () => {
    const a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.name, sn);
    assert.equal(a.status, 'enable');
    assert.equal(a.creditsLeft, 20);
    assert.equal(typeof a.description, 'string');
    assert.equal(a.creditsHoldByQuota, 0);
    assert.equal(a.userQuantityWithQuota, 0);
    assert.equal(a.callBack, null);
    assert.equal(a.stopCallBack, null);
    assert.equal(a.automaticRecreditAmount, null);
    assert.equal(typeof a.creditThresholdForAutomaticRecredit, 'number');
    assert.equal(a.smsResponse.responseType, 'none');
    assert.equal(typeof a.templates, 'object');
    assert.ok(['both', 'marketing', 'transactional'].includes(a.channel));
    assert.equal(typeof a.smpp, 'boolean');
  });

  test('a first SMS (guide flow) is sent, tracked to delivery, and leaves /jobs empty', async () => {
    const before = await client.requestPromised('GET', `/sms/${sn}`);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Test message', senderForResponse: true, receivers: ['0033612345678'],
    });
    assert.deepEqual(rep.validReceivers, ['+33612345678']);
    assert.deepEqual(rep.invalidReceivers, []);
    assert.equal(rep.ids.length, 1);
    assert.ok(Number.isInteger(rep.ids[0]) && rep.ids[0] > 0);
    assert.equal(rep.totalCreditsRemoved, 1);
    if ('creditsLeft' in rep) assert.equal(rep.creditsLeft, before.creditsLeft - 1);

    const id = rep.ids[0];
    const o = await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    assert.equal(o.id, id);
    assert.equal(o.ptt, 4);
    assert.equal(o.receiver, '+33612345678');
    assert.match(o.message, /^Test message/);
    assert.equal(o.credits, 1);
    assert.equal(o.numberOfSms, 1);
    assert.equal(o.differedDelivery, 0);
    assert.match(o.creationDatetime, ISO);
    assert.match(o.sentAt, ISO);
    assert.match(o.deliveredAt, ISO);
    assert.ok(Date.parse(o.sentAt) >= Date.parse(o.creationDatetime));
    assert.ok(Date.parse(o.deliveredAt) >= Date.parse(o.sentAt));
    assert.equal(typeof o.sender, 'string');
    assert.ok(o.sender.length > 0);

    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);
    const out = await client.requestPromised('GET', `/sms/${sn}/outgoing`);
    assert.ok(out.includes(id), `outgoing ${JSON.stringify(out)} lacks ${id}`);
    const after = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(after.creditsLeft, before.creditsLeft - 1);
    // Once sent, /jobs/{id} no longer has it.
    const e = await sdkError(client.requestPromised('GET', `/sms/${sn}/jobs/${id}`));
    assert.equal(e.error, 404);
  });

  test('one valid and one invalid receiver: only the valid one is charged', async () => {
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hello', noStopClause: true, senderForResponse: true,
      receivers: ['+33612345670', 'not-a-number'],
    });
    assert.deepEqual(rep.invalidReceivers, ['not-a-number']);
    assert.deepEqual(rep.validReceivers, ['+33612345670']);
    assert.equal(rep.ids.length, 1);
    assert.equal(rep.totalCreditsRemoved, 1);
    const after = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    assert.equal(after, before - 1);
  });

  test('only invalid receivers: 200, nothing charged, nothing stored', async () => {
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const outBefore = await client.requestPromised('GET', `/sms/${sn}/outgoing`);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hello', noStopClause: true, senderForResponse: true, receivers: ['12', 'abc'],
    });
    assert.deepEqual(rep.invalidReceivers, ['12', 'abc']);
    assert.deepEqual(rep.validReceivers, []);
    assert.deepEqual(rep.ids, []);
    assert.equal(rep.totalCreditsRemoved, 0);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`), outBefore);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);
  });

  test('GET /sms/ptts?ptt=4 describes "delivered"; an unknown ptt is 404', async () => {
    const p = await client.requestPromised('GET', '/sms/ptts', { ptt: 4 });
    assert.equal(typeof p.description, 'string');
    assert.ok(p.description.length > 0);
    assert.equal(typeof p.comment, 'string');
    assert.equal(p.duration, 'permanent');
    for (const [code, duration] of [[1, 'temporary'], [6, 'indeterminated'], [23, 'permanent']]) {
      const d = await client.requestPromised('GET', '/sms/ptts', { ptt: code });
      assert.equal(d.duration, duration, `ptt ${code}`);
    }
    const e = await sdkError(client.requestPromised('GET', '/sms/ptts', { ptt: 9999 }));
    assert.equal(e.error, 404);
    assert.equal(typeof e.message, 'string');
    // It needs authentication (spec 2.7).
    const r = await srv.raw({ path: '/sms/ptts?ptt=4' });
    assert.ok(r.status === 401 || r.status === 403, `unauthenticated ptts answered ${r.status}`);
  });

  test('POST /sms/estimate counts characters and parts', async () => {
    let e = await client.requestPromised('POST', '/sms/estimate',
      { message: 'Hello', noStopClause: true, senderType: 'alpha' });
    assert.deepEqual(e, { characters: 5, charactersClass: '7bits', maxCharactersPerPart: 160, parts: 1 });
    e = await client.requestPromised('POST', '/sms/estimate',
      { message: 'x'.repeat(161), noStopClause: true, senderType: 'alpha' });
    assert.deepEqual(e, { characters: 161, charactersClass: '7bits', maxCharactersPerPart: 153, parts: 2 });
    // The SDK escapes non-ASCII as \uXXXX; Cyrillic forces UCS-2.
    e = await client.requestPromised('POST', '/sms/estimate',
      { message: 'Привет', noStopClause: true, senderType: 'numeric' });
    assert.deepEqual(e, { characters: 6, charactersClass: 'unicode', maxCharactersPerPart: 70, parts: 1 });
    // The euro sign is a GSM-7 extension character: it counts twice.
    e = await client.requestPromised('POST', '/sms/estimate',
      { message: '10€', noStopClause: true, senderType: 'alpha' });
    assert.equal(e.charactersClass, '7bits');
    assert.equal(e.characters, 4);
    // Without noStopClause the STOP mention is counted.
    const withStop = await client.requestPromised('POST', '/sms/estimate',
      { message: 'Hello', noStopClause: false, senderType: 'alpha' });
    assert.ok(withStop.characters > 5, JSON.stringify(withStop));
    // All three fields are required.
    const err = await sdkError(client.requestPromised('POST', '/sms/estimate', { message: 'Hello' }));
    assert.equal(err.error, 400);
    assert.match(err.message, /noStopClause|senderType/);
  });

  test('PUT /sms/{sn} {description, callBack} is read back; an invalid callBack is 400', async () => {
    const r = await client.requestPromised('PUT', `/sms/${sn}`,
      { description: 'Integration account', callBack: 'https://example.com/dlr?x=1' });
    assert.equal(r, null);
    let a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.description, 'Integration account');
    assert.equal(a.callBack, 'https://example.com/dlr?x=1');

    for (const bad of ['not a url', 'ftp://example.com/x', 'https://', 'javascript:alert(1)']) {
      const e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`, { callBack: bad }));
      assert.equal(e.error, 400, `callBack ${bad}`);
      assert.match(e.message, /callBack/);
    }
    const raw = await srv.raw({ method: 'PUT', path: `/sms/${sn}`, keys, body: { callBack: 'nope' } });
    assertOvhError(raw, 400, { message: /callBack/ });
    a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.callBack, 'https://example.com/dlr?x=1', 'a refused PUT changed nothing');
    assert.equal(a.description, 'Integration account');

    // Read-only fields are ignored, an empty callBack clears it.
    await client.requestPromised('PUT', `/sms/${sn}`, { callBack: '', creditsLeft: 99999, name: 'x' });
    a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.callBack, null);
    assert.equal(a.name, sn);
    assert.notEqual(a.creditsLeft, 99999);
  });

  test('PUT /sms/{sn}: the other writable settings are read back', async () => {
    await client.requestPromised('PUT', `/sms/${sn}`, {
      stopCallBack: 'http://example.com/stop', automaticRecreditAmount: 500,
      creditThresholdForAutomaticRecredit: 10,
    });
    let a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.stopCallBack, 'http://example.com/stop');
    assert.equal(a.automaticRecreditAmount, 500);
    assert.equal(a.creditThresholdForAutomaticRecredit, 10);
    for (const bad of [{ automaticRecreditAmount: 300 }, { creditThresholdForAutomaticRecredit: -1 },
      { smsResponse: { responseType: 'fax' } }, { smsResponse: { responseType: 'cgi', cgiUrl: 'nope' } },
      { stopCallBack: 'mailto:x@example.com' }]) {
      const e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`, bad));
      assert.equal(e.error, 400, JSON.stringify(bad));
      assert.match(e.message, new RegExp(Object.keys(bad)[0]));
    }
    // null switches the automatic top-up off (the SDK drops nulls: by hand).
    const r = await srv.raw({ method: 'PUT', path: `/sms/${sn}`, keys, body: { automaticRecreditAmount: null } });
    assert.equal(r.status, 200, r.text);
    a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.automaticRecreditAmount, null);
    assert.equal(a.stopCallBack, 'http://example.com/stop');
  });

  test('PUT smsResponse / templates: GET still answers complete sms.Response / sms.Templates', async () => {
    await client.requestPromised('PUT', `/sms/${sn}`, {
      smsResponse: { responseType: 'cgi', cgiUrl: 'https://example.com/mo' },
      templates: { customizedSmsMode: true, smsBody: 'Hi' },
    });
    const a = await client.requestPromised('GET', `/sms/${sn}`);
    assert.equal(a.smsResponse.responseType, 'cgi');
    assert.equal(a.smsResponse.cgiUrl, 'https://example.com/mo');
    assert.equal(a.templates.customizedSmsMode, true);
    assert.equal(a.templates.smsBody, 'Hi');
    // Every field of the types is present (null when unset), as before the PUT.
    assert.deepEqual(Object.keys(a.smsResponse).sort(),
      ['cgiUrl', 'responseType', 'text', 'trackingDefaultSmsSender', 'trackingOptions'],
      `smsResponse after PUT: ${JSON.stringify(a.smsResponse)}`);
    assert.deepEqual(Object.keys(a.templates).sort(),
      ['customizedEmailMode', 'customizedSmsMode', 'emailBody', 'emailFrom', 'emailSubject', 'smsBody'],
      `templates after PUT: ${JSON.stringify(a.templates)}`);
  });

  test('non-ASCII text (the SDK sends \\uXXXX, emoji as surrogate pairs) round-trips', async () => {
    const message = 'Salut 😀 ça va — €';
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message, receivers: ['+33612345673'], senderForResponse: true, noStopClause: true, tag: 'café 😀',
    });
    assert.equal(rep.tag, 'café 😀');
    const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(o.message, message);
    assert.equal(o.tag, 'café 😀');
    assert.equal(o.numberOfSms, 1);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`, { tag: 'café 😀' }), rep.ids);
    // Raw UTF-8 from a third-party client, signed over the bytes.
    const r = await srv.raw({ method: 'PUT', path: `/sms/${sn}`, keys, body: '{"description":"Tést 😀"}' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).description, 'Tést 😀');
  });

  test('trailing slashes: GET /sms/ and POST/GET /sms/{sn}/jobs/', async () => {
    assert.deepEqual(await client.requestPromised('GET', '/sms/'), [sn]);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs/`, {
      message: 'slash', noStopClause: true, senderForResponse: true, receivers: ['+33612345671'],
    });
    assert.equal(rep.ids.length, 1);
    const jobs = await client.requestPromised('GET', `/sms/${sn}/jobs/`);
    assert.ok(Array.isArray(jobs));
    await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    const a = await client.requestPromised('GET', `/sms/${sn}/`);
    assert.equal(a.name, sn);
  });

  test('the /v1 base path is an alias of /1.0', async () => {
    const v1 = srv.sdk(keys, { basePath: '/v1' });
    assert.deepEqual(await v1.requestPromised('GET', '/sms'), [sn]);
    assert.deepEqual(await v1.requestPromised('GET', '/sms/'), [sn]);
    const rep = await v1.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'v1', noStopClause: true, senderForResponse: true, receivers: ['+33612345672'],
    });
    assert.equal(rep.ids.length, 1);
    const o = await waitOutgoing(v1, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(o.receiver, '+33612345672');
    // And hand-signed over plain HTTP (php/python style URL with host:port).
    const r = await srv.raw({ target: '/v1/sms', keys });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, [sn]);
  });

  test('plain HTTP, php/python signing form (scheme://host:port + path)', async () => {
    const r = await srv.raw({ path: `/sms/${sn}`, keys });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, sn);
    assert.match(r.headers['content-type'], /^application\/json/);
    // The Node form over TLS (https://host without port) is what the SDK does; check it by hand too.
    const t = await srv.raw({ path: '/sms', keys, tls: true, signUrl: 'https://127.0.0.1/1.0/sms' });
    assert.equal(t.status, 200, t.text);
  });

  test('success answers are always 200 + JSON (void = null)', async () => {
    const r = await srv.raw({ method: 'PUT', path: `/sms/${sn}`, keys, body: { description: 'again' } });
    assert.equal(r.status, 200);
    assert.equal(r.text.trim(), 'null');
    assert.match(r.headers['content-type'], /^application\/json/);
  });
});
