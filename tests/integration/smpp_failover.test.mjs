// smpp_failover.test.mjs - two routes for +33: with the primary down everything goes through
// the secondary, and traffic returns to the primary when it comes back; a temporary refusal
// fails over to the next route, a permanent one fails the message.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { freePort, startServer, waitFor } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '300'];

function status(srv, name) {
  return srv.smsctlOk(['route', 'status', '--json']).json.find((x) => x.name === name);
}

async function waitFinal(srv, ids, timeoutMs = 20000) {
  return waitFor(() => {
    const rows = srv.sql(`SELECT id, state, dlr, ptt, route FROM messages WHERE id IN (${ids.join(',')})`);
    return rows.length === ids.length && rows.every((r) => r.state >= 5) ? rows : null;
  }, { timeoutMs, what: `${ids.length} messages to reach a final state` });
}

describe('SMPP failover between routes', () => {
  let srv, client, sn, primary, secondary, primaryPort;

  before(async () => {
    primaryPort = await freePort(); // nothing listens there yet: the primary is down
    primary = new Smsc({ systemId: 'prim', port: primaryPort,
      respond: (s) => (s.destination_addr === '33612349998' ? 0x08 : s.destination_addr === '33612349999' ? 0x0b : 0) });
    secondary = await new Smsc({ systemId: 'sec' }).start();
    srv = await startServer({ args: FAST });
    srv.expectLog(/Session 'primary#1' to 127\.0\.0\.1:\d+: connecting to .* failed/);
    srv.smsctlOk(['route', 'add', 'primary', '--smpp', `127.0.0.1:${primaryPort}`, '--system-id', 'prim',
      '--prefix', '+33', '--priority', '1']);
    srv.smsctlOk(['route', 'add', 'secondary', '--smpp', `127.0.0.1:${secondary.port}`, '--system-id', 'sec',
      '--prefix', '+33', '--priority', '2']);
    await waitFor(() => status(srv, 'secondary')?.up, { what: 'the secondary to be bound' });
    const keys = srv.createAccount('smpp-failover', 1000);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => {
    await srv?.finish();
    await primary?.stop();
    await secondary?.stop();
  });

  async function send(n, base) {
    const receivers = Array.from({ length: n }, (_, i) => `+33${base + i}`);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'failover', senderForResponse: true, noStopClause: true, receivers });
    return rep.ids;
  }

  test('with the primary down, everything goes through the secondary', async () => {
    assert.equal(status(srv, 'primary').up, false);
    const ids = await send(20, 612340100);
    const rows = await waitFinal(srv, ids);
    assert.ok(rows.every((r) => r.dlr === 1 && r.route === 'secondary'), JSON.stringify(rows));
    assert.equal(secondary.submits.length, 20);
    const st = srv.smsctlOk(['route', 'status']).stdout;
    assert.match(st, /primary \(smpp\): DOWN/);
    assert.match(st, /last error: .*connecting to 127\.0\.0\.1/);
  });

  test('when the primary comes back, traffic returns to it', async () => {
    await primary.start();
    await waitFor(() => status(srv, 'primary')?.up, { what: 'the primary to be bound' });
    const before = secondary.submits.length;
    const ids = await send(20, 612340200);
    const rows = await waitFinal(srv, ids);
    assert.ok(rows.every((r) => r.dlr === 1 && r.route === 'primary'), JSON.stringify(rows));
    assert.equal(secondary.submits.length, before);
  });

  test('a temporary refusal fails over to the next route; a permanent one fails the message', async () => {
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'refusals', senderForResponse: true, noStopClause: true,
      receivers: ['+33612349998', '+33612349999'] });
    const [temp, perm] = rep.ids;
    const rows = await waitFinal(srv, [temp, perm]);
    const t = rows.find((r) => r.id === temp), p = rows.find((r) => r.id === perm);
    assert.deepEqual([t.dlr, t.route], [1, 'secondary'], 'ESME_RSYSERR went to the next route');
    assert.equal(primary.submits.filter((s) => s.destination_addr === '33612349998').length, 1);
    assert.deepEqual([p.state, p.dlr, p.ptt, p.route], [6, 16, 23, 'primary'], 'ESME_RINVDSTADR failed it');
    assert.equal(secondary.submits.filter((s) => s.destination_addr === '33612349999').length, 0);
  });
});
