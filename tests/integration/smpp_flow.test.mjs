// smpp_flow.test.mjs - the flow of traffic on one SMPP route: a messages-per-second limit that
// is never exceeded while the backlog drains (the excess waits in the queue), ESME_RTHROTTLED
// slowing the route down without losing anything, and the SMSC killed and restarted in the
// middle of a stream: no message lost, duplicates bounded by the window (docs/smpp.md).
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, waitFor } from './lib/harness.mjs';
import { Smsc, maxInWindow } from './lib/smsc.mjs';

const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '300'];

function receivers(base, n) {
  return Array.from({ length: n }, (_, i) => `+33${base + i}`);
}

async function waitBound(srv, name) {
  await waitFor(() => {
    const r = srv.smsctlOk(['route', 'status', '--json']).json.find((x) => x.name === name);
    return r && r.up;
  }, { what: `route ${name} to be bound` });
}

// Waits until every id is delivered; returns the rows.
async function waitDelivered(srv, ids, timeoutMs = 30000) {
  const list = ids.join(',');
  return waitFor(() => {
    const rows = srv.sql(`SELECT id, state, dlr FROM messages WHERE id IN (${list})`);
    return rows.length === ids.length && rows.every((r) => r.dlr === 1) ? rows : null;
  }, { timeoutMs, what: `${ids.length} messages to be delivered` });
}

describe('SMPP flow control', () => {
  let srv, client, sn;
  const smscs = [];

  before(async () => {
    srv = await startServer({ args: FAST });
    const keys = srv.createAccount('smpp-flow', 1000);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => {
    await srv?.finish();
    for (const s of smscs) await s.stop();
  });

  async function route(name, prefix, smscOpts, routeArgs) {
    const smsc = await new Smsc({ systemId: name, ...smscOpts }).start();
    smscs.push(smsc);
    srv.smsctlOk(['route', 'add', name, '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', name,
      '--prefix', prefix, ...routeArgs]);
    await waitBound(srv, name);
    return smsc;
  }

  async function send(list, text) {
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: text, senderForResponse: true, noStopClause: true, receivers: list });
    assert.equal(rep.ids.length, list.length);
    return rep.ids;
  }

  test('a route limited to 5 msg/s never exceeds 5 in any second while its backlog drains', async () => {
    const smsc = await route('rate-5', '+33612', {}, ['--tps', '5', '--window', '50']);
    const t0 = Date.now();
    const ids = await send(receivers(612000100, 30), 'rate');
    await waitDelivered(srv, ids);
    const subs = smsc.submits;
    assert.equal(subs.length, 30);
    assert.ok(maxInWindow(subs, 1000) <= 5, `max submits in a second: ${maxInWindow(subs, 1000)}`);
    assert.ok(Date.now() - t0 >= 5000, 'thirty messages at 5/s take at least five seconds');
    // The backlog waited in the queue rather than being refused.
    const failed = srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE id IN (${ids}) AND state != 5`)[0].n;
    assert.equal(failed, 0);
  });

  test('ESME_RTHROTTLED slows the route down and nothing is lost or doubled', async () => {
    let n = 0;
    const smsc = await route('throttled', '+33613', {
      respond: () => (++n % 3 === 0 && n < 60 ? 0x58 : 0), // every third submit is throttled
    }, ['--window', '10']);
    const list = receivers(613000100, 40);
    const ids = await send(list, 'throttle me');
    await waitDelivered(srv, ids, 40000);
    const throttled = smsc.submits.filter((s) => s.status === 0x58).length;
    assert.ok(throttled > 5, `the SMSC throttled ${throttled} submits`);
    for (const r of list) {
      const ok = smsc.submits.filter((s) => s.status === 0 && s.destination_addr === r.slice(1));
      assert.equal(ok.length, 1, `${r} accepted exactly once`);
    }
    const st = srv.smsctlOk(['route', 'status', '--json']).json.find((x) => x.name === 'throttled');
    assert.ok(st.throttled >= throttled, JSON.stringify(st));
  });

  test('the SMSC killed and restarted mid-stream: nothing lost, duplicates within the window', async (t) => {
    const window = 5;
    // Slow answers keep the window full, so the kill catches submits in flight.
    const smsc = await route('crashy', '+33614', { receiptDelayMs: 50, respondDelayMs: 20 },
      ['--window', String(window)]);
    const list = receivers(614000100, 150);
    const ids = await send(list, 'survive');
    await waitFor(() => smsc.submits.length >= 40, { what: 'the stream to start' });
    await smsc.stop(); // killed: connections dropped, no unbind
    srv.expectLog(/Session 'crashy#1'/);
    await new Promise((r) => setTimeout(r, 700));
    await smsc.start();
    await waitDelivered(srv, ids, 60000);
    let dups = 0;
    for (const r of list) {
      const n = smsc.submits.filter((s) => s.status === 0 && s.destination_addr === r.slice(1)).length;
      assert.ok(n >= 1, `${r} reached the SMSC`);
      dups += n - 1;
    }
    t.diagnostic(`${smsc.submits.length} submits for ${list.length} messages, ${dups} duplicates`);
    assert.ok(dups <= window, `${dups} duplicates, the documented bound is the window (${window})`);
  });
});
