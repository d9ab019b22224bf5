// senders.test.mjs - the sender lifecycle (spec 5.4): declare, operator moderation with
// smsctl, sending with a sender in each state, customer enable/disable, validation of names.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, sdkError, startServer, waitOutgoing } from './lib/harness.mjs';

describe('senders', () => {
  let srv, keys, sn, client;
  const send = (sender, receiver = '+33612340001') => client.requestPromised('POST',
    `/sms/${sn}/jobs`, { message: 'From a sender', noStopClause: true, sender, receivers: [receiver] });
  const getSender = (name) => client.requestPromised('GET',
    `/sms/${sn}/senders/${encodeURIComponent(name)}`);

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount('senders', 50);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  test('POST /senders declares a sender waiting for validation', async () => {
    const r = await client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'MyShop', description: 'Our shop', reason: 'Order notifications' });
    assert.equal(typeof r, 'string', `POST /senders returns a JSON string, got ${JSON.stringify(r)}`);
    const s = await getSender('MyShop');
    assert.equal(s.sender, 'MyShop');
    assert.equal(s.description, 'Our shop');
    assert.equal(s.status, 'waitingValidation');
    assert.equal(s.comment, null);
    assert.equal(s.type, 'alpha');
    assert.ok('referer' in s);
    assert.ok((await client.requestPromised('GET', `/sms/${sn}/senders`)).includes('MyShop'));
    // A second declaration of the same name conflicts.
    const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'MyShop', description: 'again', reason: 'again' }));
    assert.equal(e.error, 409);
  });

  test('sending with a sender waiting for validation is refused with 403', async () => {
    const credits = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const e = await sdkError(send('MyShop'));
    assert.equal(e.error, 403);
    assert.match(e.message, /MyShop/);
    const raw = await srv.raw({ method: 'POST', path: `/sms/${sn}/jobs`, keys,
      body: { message: 'x', noStopClause: true, sender: 'MyShop', receivers: ['+33612340001'] } });
    assertOvhError(raw, 403);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, credits,
      'a refused send costs nothing');
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`), []);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);
  });

  test('sending with an undeclared sender is refused with 403', async () => {
    const e = await sdkError(send('Nobody'));
    assert.equal(e.error, 403);
    assert.match(e.message, /Nobody/);
  });

  test('smsctl sender refuse: status refused with the comment; still cannot send', async () => {
    const r = srv.smsctlOk(['sender', 'refuse', sn, 'MyShop', '--comment', 'no']);
    assert.match(r.stdout, /refused/);
    const s = await getSender('MyShop');
    assert.equal(s.status, 'refused');
    assert.equal(s.comment, 'no');
    const e = await sdkError(send('MyShop'));
    assert.equal(e.error, 403);
    // The customer cannot enable a refused sender.
    const p = await sdkError(client.requestPromised('PUT', `/sms/${sn}/senders/MyShop`, { status: 'enable' }));
    assert.equal(p.error, 403);
    assert.equal((await getSender('MyShop')).status, 'refused');
  });

  test('an approved sender sends; the SMS carries it; disable/enable by the customer', async () => {
    await client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'Shop2', description: 'Second shop', reason: 'Marketing' });
    // The customer cannot validate it himself.
    const p = await sdkError(client.requestPromised('PUT', `/sms/${sn}/senders/Shop2`, { status: 'enable' }));
    assert.equal(p.error, 403);
    assert.equal((await getSender('Shop2')).status, 'waitingValidation');

    srv.smsctlOk(['sender', 'approve', sn, 'Shop2']);
    assert.equal((await getSender('Shop2')).status, 'enable');
    const rep = await send('Shop2', '+33612340002');
    assert.equal(rep.ids.length, 1);
    const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(o.sender, 'Shop2');
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing`, { sender: 'Shop2' }),
      rep.ids);

    // PUT status disable (customer) -> sending refused.
    assert.equal(await client.requestPromised('PUT', `/sms/${sn}/senders/Shop2`, { status: 'disable' }), null);
    assert.equal((await getSender('Shop2')).status, 'disable');
    const e = await sdkError(send('Shop2'));
    assert.equal(e.error, 403);
    assert.match(e.message, /Shop2/);

    // And enable again (a disabled sender can be re-enabled).
    await client.requestPromised('PUT', `/sms/${sn}/senders/Shop2`, { status: 'enable', description: 'Back' });
    const s = await getSender('Shop2');
    assert.equal(s.status, 'enable');
    assert.equal(s.description, 'Back');
    const rep2 = await send('Shop2', '+33612340003');
    assert.equal(rep2.ids.length, 1);

    // The operator can disable it too.
    srv.smsctlOk(['sender', 'disable', sn, 'Shop2', '--comment', 'paused']);
    assert.equal((await getSender('Shop2')).status, 'disable');
    assert.equal((await sdkError(send('Shop2'))).error, 403);
  });

  test('a sender name with a space travels percent-encoded', async () => {
    await client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'My Sender', description: 'spaced', reason: 'test' });
    srv.smsctlOk(['sender', 'approve', sn, 'My Sender']);
    const s = await getSender('My Sender');
    assert.equal(s.sender, 'My Sender');
    assert.equal(s.status, 'enable');
    const rep = await send('My Sender', '+33612340004');
    const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(o.sender, 'My Sender');
  });

  test('invalid sender names are 400 naming the sender', async () => {
    for (const bad of ['ABCDEFGHIJKL', 'Twelve chars', '12', '12345678901234567', '', 'Bad<Name>']) {
      const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders`,
        { sender: bad, description: 'bad', reason: 'bad' }));
      assert.equal(e.error, 400, `sender ${JSON.stringify(bad)}`);
      if (bad !== '') assert.match(e.message, /sender/, `message for ${JSON.stringify(bad)}`);
    }
    // A phone number is a valid (numeric) sender.
    await client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: '+33612345678', description: 'numeric', reason: 'test' });
    assert.equal((await getSender('+33612345678')).type, 'numeric');
    // An alphanumeric name of exactly 11 characters is fine.
    await client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'ElevenChars', description: '11', reason: 'test' });
    // Sending with an impossible sender name is 400 too.
    const e = await sdkError(send('ABCDEFGHIJKL'));
    assert.equal(e.error, 400);
    assert.match(e.message, /sender/);
  });

  test('a declaration without a reason is 400', async () => {
    const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'NoReason', description: 'x' }));
    assert.equal(e.error, 400);
    assert.match(e.message, /reason/);
  });

  test('unknown sender: GET 404; DELETE removes a sender', async () => {
    assert.equal((await sdkError(getSender('Ghost'))).error, 404);
    assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/senders/ElevenChars`), null);
    assert.equal((await sdkError(getSender('ElevenChars'))).error, 404);
    assert.ok(!(await client.requestPromised('GET', `/sms/${sn}/senders`)).includes('ElevenChars'));
    // smsctl on an unknown sender fails with 404.
    const r = srv.smsctl(['sender', 'approve', sn, 'Ghost']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /404/);
  });
});
