// smpp_admin.test.mjs - managing routes with smsctl (add, list, set, disable, enable, remove,
// status) over the admin API, changes taking effect without a restart, clear errors for bad
// input, a TLS route to an SMSC with a certificate from the test CA, and a refused bind shown
// in the status.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, httpRequest, startServer, tlsFiles, waitFor, waitOutgoing } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '300'];

describe('smsctl route', () => {
  let srv, smsc, tlsSmsc, client, sn, token;

  const status = (name) => srv.smsctlOk(['route', 'status', '--json']).json.find((x) => x.name === name);
  const admin = (method, target, body) => httpRequest({
    port: srv.port, method, target, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });

  before(async () => {
    const { cert, key, ca } = tlsFiles();
    smsc = await new Smsc({ systemId: 'adm', password: 'pw1' }).start();
    tlsSmsc = await new Smsc({ systemId: 'tls', tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } }).start();
    srv = await startServer({ args: FAST });
    token = fs.readFileSync(`${srv.dataDir}/admin.token`, 'utf8').trim();
    const keys = srv.createAccount('smpp-admin', 100);
    sn = keys.serviceName;
    client = srv.sdk(keys);
    srv.caFile = ca;
  });
  after(async () => {
    await srv?.finish();
    await smsc?.stop();
    await tlsSmsc?.stop();
  });

  test('a fresh install has only the sim route, for every number', () => {
    const r = srv.smsctlOk(['route', 'list']);
    assert.match(r.stdout, /^NAME\s+KIND\s+SMSC\s+PREFIXES/m);
    assert.match(r.stdout, /^sim\s+sim\s+-\s+\*\s+1000\s+1/m);
    const j = srv.smsctlOk(['route', 'list', '--json']).json;
    assert.deepEqual(j.map((x) => x.name), ['sim']);
  });

  test('route add takes effect at once and route list shows it without the password', async () => {
    const r = srv.smsctlOk(['route', 'add', 'orange-fr', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', 'adm',
      '--password', 'pw1', '--prefix', '+33', '--priority', '5', '--weight', '2', '--tps', '50',
      '--window', '20', '--binds', '2']);
    assert.equal(r.stdout, "route 'orange-fr' added\n");
    const j = srv.smsctlOk(['route', 'list', '--json']).json.find((x) => x.name === 'orange-fr');
    assert.deepEqual([j.smsc, j.systemId, j.prefixes, j.priority, j.weight, j.tps, j.window, j.binds, j.enabled],
      [`127.0.0.1:${smsc.port}`, 'adm', ['+33'], 5, 2, 50, 20, 2, true]);
    assert.equal('password' in j, false);
    await waitFor(() => status('orange-fr')?.up, { what: 'orange-fr bound' });
    const st = srv.smsctlOk(['route', 'status', 'orange-fr']).stdout;
    assert.match(st, /^orange-fr \(smpp\): up, prefixes \+33, priority 5/m);
    assert.match(st, /^ {2}bind orange-fr#1 transceiver: BOUND, window 0\/20/m);
    assert.match(st, /^ {2}bind orange-fr#2 transceiver: BOUND/m);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'via orange', senderForResponse: true, noStopClause: true, receivers: ['+33612345678'] });
    await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(smsc.submits.length, 1);
  });

  test('route disable sends traffic back to the sim; enable brings it back', async () => {
    srv.smsctlOk(['route', 'disable', 'orange-fr']);
    const a = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'via sim', senderForResponse: true, noStopClause: true, receivers: ['+33612345679'] });
    await waitOutgoing(client, sn, a.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(srv.sql(`SELECT route FROM messages WHERE id = ${a.ids[0]}`)[0].route, 'sim');
    assert.equal(smsc.submits.length, 1);
    srv.smsctlOk(['route', 'enable', 'orange-fr']);
    await waitFor(() => status('orange-fr')?.up, { what: 'orange-fr bound again' });
    const b = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'via orange again', senderForResponse: true, noStopClause: true, receivers: ['+33612345670'] });
    await waitOutgoing(client, sn, b.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(smsc.submits.length, 2);
  });

  test('route set changes a route in place; a wrong password shows in the status', async () => {
    srv.expectLog(/Session 'orange-fr#\d' to 127\.0\.0\.1:\d+: bind as transceiver 'adm' refused/);
    srv.smsctlOk(['route', 'set', 'orange-fr', '--password', 'wrong', '--binds', '1']);
    await waitFor(() => /invalid password/.test(status('orange-fr')?.lastError || ''), { what: 'the refused bind' });
    const st = srv.smsctlOk(['route', 'status', 'orange-fr']).stdout;
    assert.match(st, /orange-fr \(smpp\): DOWN/);
    assert.match(st, /status 0x0000000E \(invalid password\)/);
    srv.smsctlOk(['route', 'set', 'orange-fr', '--password', 'pw1']);
    await waitFor(() => status('orange-fr')?.up, { what: 'orange-fr bound with the right password' });
    assert.equal(status('orange-fr').binds.length, 1);
  });

  test('bad input gets a clear error naming the field', async () => {
    const bad = [
      [['route', 'add', 'x1', '--smpp', 'nohost', '--system-id', 'a'], /smsc/],
      [['route', 'add', 'x2', '--smpp', '127.0.0.1:2775', '--system-id', 'a', '--prefix', '33'], /prefixes/],
      [['route', 'add', 'X 3', '--smpp', '127.0.0.1:2775', '--system-id', 'a'], /name/],
      [['route', 'add', 'x4', '--smpp', '127.0.0.1:2775', '--system-id', 'a', '--password', 'far-too-long'], /password/],
      [['route', 'add', 'x5', '--smpp', '127.0.0.1:2775', '--system-id', 'a', '--concat', 'udh7'], /concat/],
      [['route', 'add', 'orange-fr', '--smpp', '127.0.0.1:2775', '--system-id', 'a'], /already exists/],
      [['route', 'set', 'sim', '--tps', '5'], /sim route only has/],
      [['route', 'remove', 'sim'], /cannot be removed/],
      [['route', 'remove', 'nosuch'], /No route is named 'nosuch'/],
      [['route', 'add', 'x8', '--smpp', '127.0.0.1:2775', '--system-id', 'a', '--tls-ca', '/nonexistent/ca.pem'], /tlsCa/],
    ];
    for (const [args, re] of bad) {
      const r = srv.smsctl(args);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    const u = srv.smsctl(['route', 'add', 'x6', '--system-id', 'a']);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /needs --smpp/);
    const w = srv.smsctl(['route', 'set', 'orange-fr', '--window', 'many']);
    assert.equal(w.status, 2);
    assert.match(w.stderr, /--window expects a whole number/);
    assertOvhError(await admin('POST', '/admin/routes', { name: 'x7', smsc: '127.0.0.1:1', systemId: 'a', window: 0 }),
      400, { message: /'window'/ });
    assertOvhError(await admin('PUT', '/admin/routes/orange-fr', { tls: 'yes' }), 400, { message: /'tls'/ });
    assertOvhError(await admin('GET', '/admin/routes/nosuch'), 404);
    assert.equal((await httpRequest({ port: srv.port, target: '/admin/routes' })).status, 401);
  });

  test('a TLS route binds to an SMSC whose certificate the given CA signed', async () => {
    srv.smsctlOk(['route', 'add', 'tls-fr', '--smpp', `127.0.0.1:${tlsSmsc.port}`, '--system-id', 'tls',
      '--prefix', '+336129', '--tls', '--tls-ca', srv.caFile]);
    await waitFor(() => status('tls-fr')?.up, { what: 'the TLS route to be bound' });
    assert.equal(status('tls-fr').tls, true);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'over TLS', senderForResponse: true, noStopClause: true, receivers: ['+33612900000'] });
    await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    assert.equal(tlsSmsc.submits.length, 1);
    assert.equal(tlsSmsc.submits[0].text, 'over TLS');
  });

  test('route remove stops the route without a restart', async () => {
    const r = srv.smsctlOk(['route', 'remove', 'tls-fr']);
    assert.equal(r.stdout, "route 'tls-fr' removed\n");
    await waitFor(() => !status('tls-fr'), { what: 'tls-fr to be gone' });
    assert.deepEqual(srv.smsctlOk(['route', 'list', '--json']).json.map((x) => x.name).sort(), ['orange-fr', 'sim']);
    assert.match(srv.smsctlOk(['help', 'route']).stdout, /smsctl route add NAME --smpp HOST:PORT/);
  });
});
