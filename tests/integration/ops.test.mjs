// ops.test.mjs - the service operations of issue 15 point 5 owned by the "ops" area
// (docs/api.md, "Service operations"): serviceInfos, transferCredits (one transaction, both
// ledgers), task and receivers/{slotId}/clean, exceptions, sendersAvailableForValidation,
// smpp/* (no SMPP access), senders' validate and documents, templatesControl moderated with
// smsctl, and the outgoing filters batchID and messageID. Every answer is checked against
// OVH's own schema (lib/ovhschema.mjs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { sdkError, startServer, urlRequest, waitFor, waitOutgoing } from './lib/harness.mjs';
import { checkModel, checkResponse, loadSchema } from './lib/ovhschema.mjs';

const schema = loadSchema();
const skip = false; // answers checked against OVH's schema where it is (lib/ovhschema.mjs)

// The balance of a service as its ledger says (the last row), and the ledger's rows.
function ledgerOf(srv, sn) {
  const rows = srv.ledger(sn);
  return { rows, balance: rows.length ? rows[rows.length - 1].balance : 0 };
}

describe('service operations', () => {
  let srv, keys, sn, client, other, otherClient;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount('opsacct', 100);
    sn = keys.serviceName;
    client = srv.sdk(keys);
    other = srv.createAccount('opsother', 50);
    otherClient = srv.sdk(other);
  });
  after(async () => { await srv?.finish(); });

  test('GET /serviceInfos is a services.Service; PUT changes its renew settings only', { skip }, async () => {
    const info = await client.requestPromised('GET', `/sms/${sn}/serviceInfos`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/serviceInfos', info);
    assert.equal(info.domain, sn);
    assert.equal(info.contactAdmin, 'opsacct');
    assert.equal(info.status, 'ok');
    assert.equal(info.creation, new Date().toISOString().slice(0, 10));
    assert.ok(info.expiration > info.creation);
    assert.deepEqual(info.renew, { automatic: true, deleteAtExpiration: false, forced: false,
      manualPayment: false, period: null });

    // The SDK's usual read-modify-write: the whole object back, renew changed.
    const put = await client.requestPromised('PUT', `/sms/${sn}/serviceInfos`,
      { ...info, domain: 'ignored', renew: { ...info.renew, automatic: false, period: 12 } });
    assert.equal(put, null);
    const after1 = await client.requestPromised('GET', `/sms/${sn}/serviceInfos`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/serviceInfos', after1);
    assert.equal(after1.domain, sn, 'read-only fields are not changed');
    assert.equal(after1.renewalType, 'manual');
    assert.deepEqual(after1.renew, { automatic: false, deleteAtExpiration: false, forced: false,
      manualPayment: false, period: 12 });
    // A partial renew keeps the other fields.
    await client.requestPromised('PUT', `/sms/${sn}/serviceInfos`, { renew: { manualPayment: null } });
    const after2 = await client.requestPromised('GET', `/sms/${sn}/serviceInfos`);
    assert.deepEqual(after2.renew, { automatic: false, deleteAtExpiration: false, forced: false,
      manualPayment: null, period: 12 });
    checkModel(schema, 'services.Service', after2);

    for (const [body, re] of [
      [{ renew: { deleteAtExpiration: true } }, /renew\.deleteAtExpiration/],
      [{ renew: { period: 5 } }, /renew\.period/],
      [{ renew: { automatic: 'yes' } }, /renew\.automatic/],
      [{ renew: 3 }, /'renew'/],
    ]) {
      const e = await sdkError(client.requestPromised('PUT', `/sms/${sn}/serviceInfos`, body));
      assert.equal(e.error, 400, JSON.stringify(body));
      assert.match(e.message, re);
    }
    assert.deepEqual((await client.requestPromised('GET', `/sms/${sn}/serviceInfos`)).renew,
      after2.renew, 'a refused PUT changes nothing');
    const e = await sdkError(otherClient.requestPromised('GET', `/sms/${sn}/serviceInfos`));
    assert.equal(e.error, 404, "another account's service is not found");
  });

  test('transferCredits moves credits between two services of the account, both ledgers in one transaction', { timeout: 60000 }, async () => {
    const added = srv.smsctlOk(['account', 'add-service', 'opsacct', '--credits', '5', '--json']).json;
    const sn2 = added.serviceName;
    assert.equal(sn2, 'sms-opsacct-2');
    assert.equal((await client.requestPromised('GET', '/sms')).sort().join(), [sn, sn2].sort().join());
    assert.equal((await client.requestPromised('GET', `/sms/${sn2}`)).creditsLeft, 5);

    const r = await client.requestPromised('POST', `/sms/${sn}/transferCredits`,
      { credits: 12.5, smsAccountTarget: sn2 });
    checkResponse(schema, 'POST', '/sms/{serviceName}/transferCredits', r);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 87.5);
    assert.equal((await client.requestPromised('GET', `/sms/${sn2}`)).creditsLeft, 17.5);
    const l1 = ledgerOf(srv, sn), l2 = ledgerOf(srv, sn2);
    const out = l1.rows[l1.rows.length - 1], inn = l2.rows[l2.rows.length - 1];
    assert.equal(out.kind, 'transfer');
    assert.equal(out.amount, -12.5);
    assert.equal(out.ref, `transfer:${sn2}`);
    assert.equal(inn.kind, 'transfer');
    assert.equal(inn.amount, 12.5);
    assert.equal(inn.ref, `transfer:${sn}`);
    assert.equal(l1.balance, 87.5);
    assert.equal(l2.balance, 17.5);

    // Refusals write nothing in either ledger.
    const otherSn = other.serviceName;
    const refusals = [
      [{ credits: 1, smsAccountTarget: otherSn }, 404, /does not exist/],
      [{ credits: 1, smsAccountTarget: 'sms-nobody-1' }, 404, /does not exist/],
      [{ credits: 1000, smsAccountTarget: sn2 }, 402, /credits/i],
      [{ credits: 87.501, smsAccountTarget: sn2 }, 402, /credits/i],
      [{ credits: 1, smsAccountTarget: sn }, 400, /same SMS account/],
      [{ credits: 0, smsAccountTarget: sn2 }, 400, /'credits'/],
      [{ credits: -3, smsAccountTarget: sn2 }, 400, /'credits'/],
      [{ credits: 0.0001, smsAccountTarget: sn2 }, 400, /'credits'/],
      [{ credits: '3', smsAccountTarget: sn2 }, 400, /'credits'/],
      [{ smsAccountTarget: sn2 }, 400, /'credits'/],
      [{ credits: 3 }, 400, /'smsAccountTarget'/],
    ];
    for (const [body, status, re] of refusals) {
      const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/transferCredits`, body));
      assert.equal(e.error, status, JSON.stringify(body));
      assert.match(e.message, re, JSON.stringify(body));
    }
    // The other account cannot pull from this one either.
    const e = await sdkError(otherClient.requestPromised('POST', `/sms/${otherSn}/transferCredits`,
      { credits: 1, smsAccountTarget: sn }));
    assert.equal(e.error, 404);
    assert.deepEqual(srv.ledger(sn), l1.rows, 'no row after refusals');
    assert.deepEqual(srv.ledger(sn2), l2.rows, 'no row after refusals');
    assert.equal(ledgerOf(srv, otherSn).balance, 50);

    // With an Idempotency-Key, a transfer retried (its answer lost) moves the credits once;
    // the same key with another body is 422.
    const idem = (body) => srv.raw({ method: 'POST', path: `/sms/${sn}/transferCredits`, keys, body,
      headers: { 'Idempotency-Key': 'transfer-once-1' } });
    const i1 = await idem({ credits: 2, smsAccountTarget: sn2 });
    const i2 = await idem({ credits: 2, smsAccountTarget: sn2 });
    assert.equal(i1.status, 200, i1.text);
    assert.equal(i2.status, 200, i2.text);
    assert.equal(i2.text, i1.text);
    assert.equal((await idem({ credits: 3, smsAccountTarget: sn2 })).status, 422);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 85.5);
    assert.equal((await client.requestPromised('GET', `/sms/${sn2}`)).creditsLeft, 19.5);
    await client.requestPromised('POST', `/sms/${sn2}/transferCredits`, { credits: 2, smsAccountTarget: sn });

    // The whole balance can go; then nothing more.
    await client.requestPromised('POST', `/sms/${sn2}/transferCredits`, { credits: 17.5, smsAccountTarget: sn });
    assert.equal((await client.requestPromised('GET', `/sms/${sn2}`)).creditsLeft, 0);
    assert.equal((await sdkError(client.requestPromised('POST', `/sms/${sn2}/transferCredits`,
      { credits: 0.001, smsAccountTarget: sn }))).error, 402);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 105);

    // Concurrent transfers both ways (PostgreSQL: locks in one order, no deadlock): every
    // accepted one is in both ledgers, the total never changes, no balance below zero.
    await client.requestPromised('POST', `/sms/${sn}/transferCredits`, { credits: 5, smsAccountTarget: sn2 });
    const before1 = ledgerOf(srv, sn).rows.length, before2 = ledgerOf(srv, sn2).rows.length;
    const calls = [];
    for (let i = 0; i < 20; i++) {
      calls.push(client.requestPromised('POST', `/sms/${sn}/transferCredits`, { credits: 1, smsAccountTarget: sn2 })
        .then(() => 'ok', (err) => err.error));
      calls.push(client.requestPromised('POST', `/sms/${sn2}/transferCredits`, { credits: 1, smsAccountTarget: sn })
        .then(() => 'ok', (err) => err.error));
    }
    const res = await Promise.all(calls);
    assert.ok(res.every((x) => x === 'ok' || x === 402), JSON.stringify(res));
    const ok = res.filter((x) => x === 'ok').length;
    const L1 = ledgerOf(srv, sn), L2 = ledgerOf(srv, sn2);
    assert.equal(L1.rows.length - before1 + L2.rows.length - before2, 2 * ok,
      'each accepted transfer wrote one row in each ledger');
    assert.equal(L1.balance + L2.balance, 105);
    for (const L of [L1, L2]) {
      let b = L.rows[0].balance - L.rows[0].amount;
      for (const row of L.rows) {
        b = Math.round((b + row.amount) * 1000) / 1000;
        assert.equal(row.balance, b, 'each row is the previous balance plus its amount');
        assert.ok(row.balance >= 0);
      }
    }
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, L1.balance);
  });

  test('receivers/{slotId}/clean removes refused and blacklisted rows and records a done task', { skip }, async () => {
    const csv = 'number;name\n+33612345001;a\nnot-a-number;b\n+33612345002;c\n+33612345001;dup\n+33612345003;d\n';
    const doc = await client.requestPromised('POST', '/me/document', { name: 'clean.csv', tags: [] });
    assert.equal((await urlRequest('PUT', doc.putUrl, csv)).status, 200);
    const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`,
      { autoUpdate: false, description: 'to clean', documentId: doc.id, slotId: 3 });
    assert.equal(slot.records, 5);
    srv.smsctlOk(['blacklist', 'add', sn, '+33612345002']);
    const credits = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;

    // priceOnly: a quote, nothing changes and no task.
    const quote = await client.requestPromised('POST', `/sms/${sn}/receivers/3/clean`,
      { freemium: false, priceOnly: true });
    checkResponse(schema, 'POST', '/sms/{serviceName}/receivers/{slotId}/clean', quote, { allowExtra: true });
    assert.deepEqual(quote, { taskId: 0, totalCreditsRemoved: 0, invalidRemoved: 2, blacklistedRemoved: 1 },
      'what a clean would remove');
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/receivers/3`)).records, 5);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/task`), []);

    // freemium: the syntax check only (the refused number and the duplicate).
    const r1 = await client.requestPromised('POST', `/sms/${sn}/receivers/3/clean`,
      { freemium: true, priceOnly: false });
    checkResponse(schema, 'POST', '/sms/{serviceName}/receivers/{slotId}/clean', r1, { allowExtra: true });
    assert.ok(r1.taskId > 0);
    assert.equal(r1.totalCreditsRemoved, 0);
    assert.deepEqual([r1.invalidRemoved, r1.blacklistedRemoved], [2, 0], 'freemium: the syntax check only');
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/receivers/3`)).records, 3);
    // Then the blacklist too.
    const r2 = await client.requestPromised('POST', `/sms/${sn}/receivers/3/clean`,
      { freemium: false, priceOnly: false });
    assert.deepEqual([r2.invalidRemoved, r2.blacklistedRemoved], [0, 1]);
    const s3 = await client.requestPromised('GET', `/sms/${sn}/receivers/3`);
    assert.equal(s3.records, 2);
    const left = await client.requestPromised('GET', `/sms/${sn}/receivers/3/csv`);
    assert.ok(left.includes('+33612345001') && left.includes('+33612345003'), left);
    assert.ok(!left.includes('+33612345002') && !left.includes('not-a-number') && !left.includes('dup'), left);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, credits, 'cleaning is free');
    const rows = srv.sql(`SELECT removed_invalid, removed_blacklisted FROM tasks WHERE id IN (${r1.taskId}, ${r2.taskId}) ORDER BY id`);
    assert.deepEqual(rows.map((x) => [Number(x.removed_invalid), Number(x.removed_blacklisted)]), [[2, 0], [0, 1]]);
    // Sending to the slot now reaches the two numbers left.
    const job = await client.requestPromised('POST', `/sms/${sn}/jobs`,
      { message: 'hi #name#', receiversSlotId: '3', noStopClause: true, senderForResponse: true });
    assert.equal(job.validReceiversCount, 2);

    const ids = await client.requestPromised('GET', `/sms/${sn}/task`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/task', ids);
    assert.deepEqual(ids, [r1.taskId, r2.taskId]);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/task?status=done`), ids);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/task?status=todo`), []);
    const t = await client.requestPromised('GET', `/sms/${sn}/task/${r1.taskId}`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/task/{taskId}', t);
    assert.deepEqual(t, { function: 'cleanSmsReceivers', status: 'done', step: 'finishing', taskId: r1.taskId });

    for (const [p, status] of [[`/sms/${sn}/task/999999`, 404], [`/sms/${sn}/task/x`, 404],
      [`/sms/${sn}/task?status=finished`, 400]]) {
      assert.equal((await sdkError(client.requestPromised('GET', p))).error, status, p);
    }
    assert.equal((await sdkError(otherClient.requestPromised('GET', `/sms/${other.serviceName}/task/${r1.taskId}`))).error, 404,
      "another service's task is not found");
    for (const [body, status] of [[{ freemium: true }, 400], [{ priceOnly: false }, 400],
      [{ freemium: 'yes', priceOnly: false }, 400]]) {
      assert.equal((await sdkError(client.requestPromised('POST', `/sms/${sn}/receivers/3/clean`, body))).error, status);
    }
    assert.equal((await sdkError(client.requestPromised('POST', `/sms/${sn}/receivers/7/clean`,
      { freemium: true, priceOnly: false }))).error, 404);

    // The SMS user's variant cleans the user's own slots (users.test.mjs): the service's
    // slot 3 is not the user's.
    await client.requestPromised('POST', `/sms/${sn}/users`, { login: 'cleaner', password: 'secret-pass-1' });
    assert.equal((await sdkError(client.requestPromised('POST', `/sms/${sn}/users/cleaner/receivers/3/clean`,
      { freemium: false, priceOnly: false }))).error, 404, "the service's slot is not the user's");
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/receivers/3`)).records, 2, 'nothing cleaned');
    assert.equal((await sdkError(client.requestPromised('POST', `/sms/${sn}/users/nobody/receivers/3/clean`,
      { freemium: true, priceOnly: false }))).error, 404);
  });

  test('exceptions, sendersAvailableForValidation and smpp/* answer as OVH does', { skip }, async () => {
    const ex = await client.requestPromised('GET', `/sms/${sn}/exceptions?receiver=%2B33612345678`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/exceptions', ex);
    assert.deepEqual(ex, []);
    for (const q of ['', '?receiver=12', '?receiver=hello']) {
      assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/exceptions${q}`))).error, 400, q);
    }

    const av = await client.requestPromised('GET', `/sms/${sn}/sendersAvailableForValidation`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/sendersAvailableForValidation', av);
    assert.deepEqual(av, [{ referer: 'nichandle', sender: 'opsacct' }]);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/sendersAvailableForValidation?referer=domain`), []);
    assert.equal((await sdkError(client.requestPromised('GET',
      `/sms/${sn}/sendersAvailableForValidation?referer=web`))).error, 400);

    for (const [m, p, body] of [['GET', 'smpp/settings'], ['GET', 'smpp/allowedIPs'],
      ['POST', 'smpp/password'], ['PUT', 'smpp/allowedIPs', { action: 'add', ips: ['192.0.2.1'] }]]) {
      const e = await sdkError(client.requestPromised(m, `/sms/${sn}/${p}`, body));
      assert.equal(e.error, 403, `${m} ${p}`);
      assert.match(e.message, /no SMPP access/);
    }
    const bad = await sdkError(client.requestPromised('PUT', `/sms/${sn}/smpp/allowedIPs`, { action: 'drop', ips: [] }));
    assert.equal(bad.error, 400);
    const acct = await client.requestPromised('GET', `/sms/${sn}`);
    if ('smpp' in acct) assert.equal(acct.smpp, false);
  });

  test('templatesControl: declared, moderated with smsctl template approve|refuse, changed, deleted', { skip }, async () => {
    const base = `/sms/${sn}/templatesControl`;
    assert.deepEqual(await client.requestPromised('GET', base), []);
    const created = await client.requestPromised('POST', base, { activity: 'alerting',
      message: 'Your code is #VALUE#', name: 'otp', description: 'One-time codes', reason: 'login' });
    assert.equal(created, null);
    await client.requestPromised('POST', base, { activity: 'transactional', message: 'Order #VALUE# shipped', name: 'ship' });
    const names = await client.requestPromised('GET', base);
    checkResponse(schema, 'GET', '/sms/{serviceName}/templatesControl', names);
    assert.deepEqual(names, ['otp', 'ship']);
    let t = await client.requestPromised('GET', `${base}/otp`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/templatesControl/{name}', t);
    assert.equal(t.status, 'waitingValidation');
    assert.equal(t.activity, 'alerting');
    assert.equal(t.message, 'Your code is #VALUE#');
    assert.equal(t.description, 'One-time codes');
    assert.equal(t.comment, '');

    // The operator's list shows what waits for a decision.
    const tl = srv.smsctlOk(['template', 'list', sn]).stdout;
    assert.match(tl, /^NAME +STATUS +ACTIVITY +COMMENT +MESSAGE/);
    assert.match(tl, /\notp +waitingValidation +alerting +- +Your code is #VALUE#/);
    const tj = srv.smsctlOk(['template', 'list', sn, '--json']).json;
    assert.deepEqual(tj.map((x) => [x.name, x.status]), [['otp', 'waitingValidation'], ['ship', 'waitingValidation']]);
    for (const x of tj) checkModel(schema, 'sms.TemplateControl', x);
    assert.equal(srv.smsctl(['template', 'list', 'sms-nobody-1']).status, 1);
    // The customer cannot approve its own template.
    assert.equal((await sdkError(client.requestPromised('PUT', `${base}/otp`, { status: 'enable' }))).error, 403);
    const out = srv.smsctlOk(['template', 'approve', sn, 'otp', '--comment', 'fine']);
    assert.match(out.stdout, /otp.*enable/);
    t = await client.requestPromised('GET', `${base}/otp`);
    assert.equal(t.status, 'enable');
    assert.equal(t.comment, 'fine');
    // Approved: the customer may disable and enable it again.
    assert.equal(await client.requestPromised('PUT', `${base}/otp`, { ...t, status: 'disable' }), null);
    assert.equal((await client.requestPromised('GET', `${base}/otp`)).status, 'disable');
    await client.requestPromised('PUT', `${base}/otp`, { status: 'enable', description: 'Codes' });
    t = await client.requestPromised('GET', `${base}/otp`);
    assert.equal(t.status, 'enable');
    assert.equal(t.description, 'Codes');
    // A new message goes back to moderation.
    await client.requestPromised('PUT', `${base}/otp`, { message: 'Code: #VALUE#' });
    t = await client.requestPromised('GET', `${base}/otp`);
    assert.equal(t.status, 'waitingValidation');
    assert.equal(t.comment, '');
    assert.equal(t.message, 'Code: #VALUE#');

    srv.smsctlOk(['template', 'refuse', sn, 'ship', '--comment', 'too vague']);
    t = await client.requestPromised('GET', `${base}/ship`);
    assert.equal(t.status, 'refused');
    assert.equal(t.comment, 'too vague');
    const rl = await client.requestPromised('POST', `${base}/ship/relaunchValidation`,
      { description: 'Shipping notices', message: 'Your order #VALUE# left our warehouse' });
    assert.equal(rl, null);
    t = await client.requestPromised('GET', `${base}/ship`);
    checkModel(schema, 'sms.TemplateControl', t);
    assert.deepEqual([t.status, t.comment, t.description, t.message],
      ['waitingValidation', '', 'Shipping notices', 'Your order #VALUE# left our warehouse']);

    for (const [m, p, body, status] of [
      ['POST', base, { activity: 'alerting', message: 'x', name: 'otp' }, 409],
      ['POST', base, { activity: 'marketing', message: 'x', name: 'n1' }, 400],
      ['POST', base, { activity: 'alerting', name: 'n2' }, 400],
      ['POST', base, { activity: 'alerting', message: 'x' }, 400],
      ['POST', base, { activity: 'alerting', message: '', name: 'n3' }, 400],
      ['PUT', `${base}/otp`, { activity: 'other' }, 400],
      ['GET', `${base}/nope`, undefined, 404],
      ['POST', `${base}/nope/relaunchValidation`, { description: 'd', message: 'm' }, 404],
      ['POST', `${base}/ship/relaunchValidation`, { description: 'd' }, 400],
    ]) {
      const e = await sdkError(client.requestPromised(m, p, body));
      assert.equal(e.error, status, `${m} ${p} ${JSON.stringify(body)}`);
    }
    assert.equal(srv.smsctl(['template', 'approve', sn, 'nope']).status, 1);
    assert.equal((await sdkError(otherClient.requestPromised('GET', `/sms/${sn}/templatesControl/otp`))).error, 404);
    assert.equal(await client.requestPromised('DELETE', `${base}/ship`), null);
    assert.equal((await sdkError(client.requestPromised('DELETE', `${base}/ship`))).error, 404);
    assert.deepEqual(await client.requestPromised('GET', base), ['otp']);
  });

  test('senders/{sender}/validate enables a sender with the code smsctl sender code issued', async () => {
    const sender = '+33612349999';
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender, description: 'our line', reason: 'replies' });
    const path = `/sms/${sn}/senders/${encodeURIComponent(sender)}`;
    let e = await sdkError(client.requestPromised('POST', `${path}/validate`, { code: '123456' }));
    assert.equal(e.error, 403, 'no code issued yet');
    const out = srv.smsctlOk(['sender', 'code', sn, sender]);
    const code = out.stdout.match(/: (\d{6})\s*$/)[1];
    const wrong = code === '000000' ? '000001' : '000000';
    e = await sdkError(client.requestPromised('POST', `${path}/validate`, { code: wrong }));
    assert.equal(e.error, 400);
    assert.match(e.message, /4 tries left/);
    assert.equal((await client.requestPromised('GET', path)).status, 'waitingValidation');
    assert.equal((await sdkError(client.requestPromised('POST', `${path}/validate`, {}))).error, 400);
    assert.equal(await client.requestPromised('POST', `${path}/validate`, { code }), null);
    const s = await client.requestPromised('GET', path);
    assert.equal(s.status, 'enable');
    e = await sdkError(client.requestPromised('POST', `${path}/validate`, { code }));
    assert.equal(e.error, 403, 'a code is used once');
    const hist = srv.sql(`SELECT status, comment FROM sender_history WHERE sender = '${sender}' ORDER BY id`);
    assert.equal(hist[hist.length - 1].status, 'enable');

    // Five wrong codes void the code, even the right one after them.
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender: 'Shop2', description: 'd', reason: 'r' });
    const code2 = srv.smsctlOk(['sender', 'code', sn, 'Shop2']).stdout.match(/: (\d{6})\s*$/)[1];
    const bad2 = code2 === '999999' ? '999998' : '999999';
    for (let i = 4; i >= 0; i--) {
      e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders/Shop2/validate`, { code: bad2 }));
      assert.equal(e.error, 400);
      assert.match(e.message, new RegExp(`${i} tries left`));
    }
    e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders/Shop2/validate`, { code: code2 }));
    assert.equal(e.error, 403);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/senders/Shop2`)).status, 'waitingValidation');
    assert.equal((await sdkError(client.requestPromised('POST', `/sms/${sn}/senders/Nobody/validate`, { code: '1' }))).error, 404);
    assert.equal(srv.smsctl(['sender', 'code', sn, 'Nobody']).status, 1);
  });

  test('senders/{sender}/documents: created, uploaded to putUrl, read, renamed', { skip }, async () => {
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender: 'DocShop', description: 'd', reason: 'r' });
    const base = `/sms/${sn}/senders/DocShop/documents`;
    assert.deepEqual(await client.requestPromised('GET', base), []);
    const d = await client.requestPromised('POST', base, { name: 'kbis.pdf', description: 'Company registration' });
    checkResponse(schema, 'POST', '/sms/{serviceName}/senders/{sender}/documents', d);
    assert.equal(d.name, 'kbis.pdf');
    assert.equal(d.size, 0);
    const content = '%PDF-1.4 registration';
    assert.equal((await urlRequest('PUT', d.putUrl, content)).status, 200);
    const g = await client.requestPromised('GET', `${base}/${d.documentID}`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/senders/{sender}/documents/{documentID}', g);
    assert.equal(g.size, content.length);
    assert.equal((await urlRequest('GET', g.getUrl)).text, content);
    const list = await client.requestPromised('GET', base);
    checkResponse(schema, 'GET', '/sms/{serviceName}/senders/{sender}/documents', list);
    assert.deepEqual(list, [d.documentID]);
    assert.equal(await client.requestPromised('PUT', `${base}/${d.documentID}`,
      { ...g, name: 'kbis-2026.pdf', description: 'New scan', size: 1 }), null);
    const g2 = await client.requestPromised('GET', `${base}/${d.documentID}`);
    assert.equal(g2.name, 'kbis-2026.pdf');
    assert.equal(g2.description, 'New scan');
    // description null (the SDK drops nulls: a signed raw request) clears it.
    const raw = await srv.raw({ method: 'PUT', path: `${base}/${d.documentID}`, keys, body: { description: null } });
    assert.equal(raw.status, 200, raw.text);
    assert.equal((await client.requestPromised('GET', `${base}/${d.documentID}`)).description, null);
    assert.equal(g2.size, content.length, 'size is read-only');
    for (const [m, p, body, status] of [
      ['POST', base, {}, 400],
      ['POST', `/sms/${sn}/senders/Nobody/documents`, { name: 'x' }, 404],
      ['GET', `${base}/00000000-0000-4000-8000-000000000000`, undefined, 404],
      ['PUT', `${base}/00000000-0000-4000-8000-000000000000`, { name: 'x' }, 404],
    ]) {
      assert.equal((await sdkError(client.requestPromised(m, p, body))).error, status, `${m} ${p}`);
    }
    assert.equal((await sdkError(otherClient.requestPromised('GET', `${base}/${d.documentID}`))).error, 404);
  });

  test('outgoing filters messageID and batchID', { skip }, async () => {
    const job = await client.requestPromised('POST', `/sms/${sn}/jobs`,
      { message: 'filter me', receivers: ['+33612340101'], noStopClause: true, senderForResponse: true });
    const id = job.ids[0];
    const o = await waitOutgoing(client, sn, id, (x) => x.deliveryReceipt === 1);
    checkModel(schema, 'sms.Outgoing', o, { allowExtra: true });
    assert.match(o.messageID, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(o.batchID, null);
    assert.equal(o.tag, '', 'no tag: an empty string (the model has no null tag)');
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing?messageID=${o.messageID}`), [id]);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing?messageID=${o.messageID.toUpperCase()}`), [id]);
    assert.deepEqual(await client.requestPromised('GET',
      `/sms/${sn}/outgoing?messageID=${o.messageID}&receiver=%2B33612340102`), [], 'filters combine');
    assert.deepEqual(await client.requestPromised('GET',
      `/sms/${sn}/outgoing?messageID=3f1c9a2e-8b7d-4e21-9c3a-5d6e7f809a1b`), []);
    assert.deepEqual(await otherClient.requestPromised('GET',
      `/sms/${other.serviceName}/outgoing?messageID=${o.messageID}`), [], "another service's SMS");
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/outgoing?messageID=12`))).error, 400);

    const b = await client.requestPromised('POST', `/sms/${sn}/batches`, { name: 'filtered',
      message: 'batch', senderForResponse: true, noStop: true, to: ['+33612340201', '+33612340202'] });
    let ids = [];
    await waitFor(async () => {
      ids = await client.requestPromised('GET', `/sms/${sn}/outgoing?batchID=${b.id}`);
      return ids.length === 2;
    }, { what: 'the batch in /outgoing' });
    const all = await client.requestPromised('GET', `/sms/${sn}/outgoing`);
    assert.ok(!ids.includes(id) && ids.every((x) => all.includes(x)));
    const bo = await client.requestPromised('GET', `/sms/${sn}/outgoing/${ids[0]}`);
    assert.equal(bo.batchID, b.id);
    checkModel(schema, 'sms.Outgoing', bo, { allowExtra: true });
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/outgoing?batchID=${b.id}&tag=none`), []);
    assert.deepEqual(await client.requestPromised('GET',
      `/sms/${sn}/outgoing?batchID=3f1c9a2e-8b7d-4e21-9c3a-5d6e7f809a1b`), []);
    assert.deepEqual(await otherClient.requestPromised('GET', `/sms/${other.serviceName}/outgoing?batchID=${b.id}`), []);
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/outgoing?batchID=b1`))).error, 400);
  });
});
