// smsctl.test.mjs - the CLI (docs/smsctl.md) against a real server: operator commands, the
// customer commands send/status (signed like the SDKs, over plain HTTP and over TLS), exit
// statuses and error output.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, waitFor } from './lib/harness.mjs';

describe('smsctl', () => {
  let srv, keys, sn, env;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount('cli', 10);
    sn = keys.serviceName;
    env = { OVH_APPLICATION_KEY: keys.appKey, OVH_APPLICATION_SECRET: keys.appSecret,
            OVH_CONSUMER_KEY: keys.consumerKey };
  });
  after(async () => { await srv?.finish(); });

  test('account create --json prints the keys; the key is validated', async () => {
    assert.equal(keys.account, 'cli');
    assert.equal(sn, 'sms-cli-1');
    const r = await srv.raw({ path: '/sms', keys });
    assert.equal(r.status, 200, r.text);
    // Human form: one key: value line each.
    const h = srv.smsctlOk(['account', 'create', 'cli-human', '--credits', '1']);
    for (const k of ['serviceName: sms-cli-human-1', 'applicationKey: ', 'applicationSecret: ', 'consumerKey: ']) {
      assert.ok(h.stdout.includes(k), `missing '${k}' in:\n${h.stdout}`);
    }
  });

  test('account create: an existing name is 409, a bad name 400 (exit 1)', () => {
    let r = srv.smsctl(['account', 'create', 'cli']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /409/);
    r = srv.smsctl(['account', 'create', 'Bad_Name']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /400/);
    r = srv.smsctl(['account', 'create', 'x'.repeat(33)]);
    assert.equal(r.status, 1);
  });

  test('account list, health', () => {
    const l = srv.smsctlOk(['account', 'list', '--json']);
    const me = l.json.find((a) => a.account === 'cli');
    assert.deepEqual(me, { account: 'cli', serviceName: sn, creditsLeft: 10 });
    const h = srv.smsctlOk(['health']);
    assert.match(h.stdout, /^ok \(version .+\)/);
    const hj = srv.smsctlOk(['health', '--json']);
    assert.equal(hj.json.status, 'ok');
  });

  test('send (plain HTTP) then status, human output', async () => {
    const r = srv.smsctlOk(['send', '--service', sn, '--to', '+33600000000', '--to', '0033600000001',
      '--to', '12', '--no-stop', 'Your code is 4242'], { env });
    assert.match(r.stdout, /^ids: \d+ \d+$/m);
    assert.match(r.stdout, /^invalid receivers: 12$/m);
    assert.match(r.stdout, /^credits removed: 2$/m);
    assert.match(r.stdout, /^credits left: 8$/m);
    const id = Number(r.stdout.match(/^ids: (\d+)/m)[1]);
    const st = await waitFor(() => {
      const s = srv.smsctlOk(['status', '--service', sn, String(id)], { env });
      return /deliveryReceipt 1 \(Success\)/.test(s.stdout) && s;
    }, { what: 'smsctl status to show delivery' });
    assert.match(st.stdout, new RegExp(`^id ${id}: deliveryReceipt 1 \\(Success\\), ptt 4, sentAt \\S+, deliveredAt \\S+`));
    const o = await srv.raw({ path: `/sms/${sn}/outgoing/${id}`, keys });
    assert.equal(o.json.message, 'Your code is 4242');
  });

  test('send --json from stdin, differed, tagged; status of a pending SMS', () => {
    const r = srv.smsctlOk(['send', '--service', sn, '--to', '+33600000002', '--differed', '30',
      '--tag', 't1', '--priority', 'low', '--sender-for-response', '--json', '-'],
    { env, input: 'from stdin\n' });
    assert.equal(r.json.tag, 't1');
    assert.equal(r.json.totalCreditsRemoved, 1);
    assert.deepEqual(r.json.validReceivers, ['+33600000002']);
    const id = r.json.ids[0];
    const s = srv.smsctlOk(['status', '--service', sn, String(id), '--json'], { env });
    assert.equal(s.json.id, id);
    assert.equal(s.json.deliveryReceipt, 0);
    assert.equal(s.json.differedDelivery, 30);
    assert.match(s.json.message, /^from stdin/);
    assert.doesNotMatch(s.json.message, /^from stdin\n\n/, 'one trailing line break is dropped');
    const h = srv.smsctlOk(['status', '--service', sn, String(id)], { env });
    assert.match(h.stdout, new RegExp(`^id ${id}: deliveryReceipt 0 .*sentAt -, deliveredAt -`));
  });

  test('send over TLS with OVH_ENDPOINT and --cacert', () => {
    const r = srv.smsctlOk(['send', '--service', sn, '--to', '+33600000003', '--cacert',
      process.env.NODE_EXTRA_CA_CERTS, 'over tls'],
    { env: { ...env, OVH_ENDPOINT: `https://127.0.0.1:${srv.tlsPort}/1.0` } });
    assert.match(r.stdout, /^ids: \d+$/m);
  });

  test('customer errors: missing keys, wrong secret, unknown id, unknown service', () => {
    let r = srv.smsctl(['send', '--service', sn, '--to', '+33600000004', 'x']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /OVH_APPLICATION_KEY/);
    r = srv.smsctl(['send', '--service', sn, '--to', '+33600000004', 'x'],
      { env: { ...env, OVH_APPLICATION_SECRET: 'wrong' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /400 INVALID_SIGNATURE: Invalid signature/);
    r = srv.smsctl(['status', '--service', sn, '999999'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /404/);
    r = srv.smsctl(['send', '--service', 'sms-nobody-1', '--to', '+33600000004', 'x'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /404/);
    r = srv.smsctl(['send', '--service', sn, '--to', '+33600000004', '--priority', 'urgent', 'x'], { env });
    assert.notEqual(r.status, 0);
    // the server's own table of priorities and bound of differedPeriod (core/sendfields.h)
    assert.match(r.stderr, /--priority expects one of high, medium, low, veryLow, not 'urgent'/);
    r = srv.smsctl(['send', '--service', sn, '--to', '+33600000004', '--differed', '525601', 'x'], { env });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--differed expects minutes \(an integer from 0 to 525600\)/);
  });

  test('service credit and ledger', () => {
    const before = srv.ledger(sn);
    let r = srv.smsctlOk(['service', 'credit', sn, '5', '--reason', 'invoice 42']);
    assert.match(r.stdout, /^creditsLeft: /);
    r = srv.smsctlOk(['service', 'credit', sn, '-2.5', '--json']);
    const left = r.json.creditsLeft;
    const ledger = srv.ledger(sn);
    assert.equal(ledger.length, before.length + 2);
    const [a, b] = ledger.slice(-2);
    assert.equal(a.amount, 5);
    assert.equal(a.kind, 'adjustment');
    assert.equal(a.ref, 'invoice 42');
    assert.equal(b.amount, -2.5);
    assert.equal(b.balance, left);
    assert.equal(ledger.reduce((x, e) => x + e.amount, 0), left);
    // Below zero is refused and changes nothing.
    r = srv.smsctl(['service', 'credit', sn, '-100000']);
    assert.equal(r.status, 1);
    assert.equal(srv.ledger(sn).length, ledger.length);
    // Zero and non-numbers are usage or API errors.
    assert.notEqual(srv.smsctl(['service', 'credit', sn, '0']).status, 0);
    assert.equal(srv.smsctl(['service', 'credit', sn, 'lots']).status, 2);
    // Human ledger form.
    const h = srv.smsctlOk(['ledger', sn]);
    assert.match(h.stdout, /^ID\s+DATETIME\s+AMOUNT\s+KIND\s+BALANCE\s+REF/);
    assert.equal(srv.smsctl(['ledger', 'sms-nobody-1']).status, 1);
  });

  test('usage errors exit 2; a refused admin token exits 1 and says where it came from', () => {
    assert.equal(srv.smsctl(['frobnicate']).status, 2);
    assert.equal(srv.smsctl(['account', 'create']).status, 2);
    assert.equal(srv.smsctl(['sender', 'approve', sn]).status, 2);
    assert.equal(srv.smsctl(['account', 'list', '--no-such-option']).status, 2);
    const r = srv.smsctl(['account', 'list'], { env: { SMSGATE_ADMIN_TOKEN: 'nope' } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /401/);
    assert.match(r.stderr, /SMSGATE_ADMIN_TOKEN/);
  });
});
