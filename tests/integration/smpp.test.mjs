// smpp.test.mjs - delivery through a real SMPP route to an independent SMSC simulator
// (lib/smsc.mjs, npm `smpp` in server mode): the submit_sm fields on the wire, receipts
// mapped to deliveryReceipt/ptt, a 3-part UCS-2 message, receipts whose message id comes in
// another form (hex/decimal, case, leading zeros; text, TLVs, data_sm), MO messages, and a
// permanent refusal that fails and refunds the message.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, waitFor, waitOutgoing } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '500'];

async function waitBound(srv, name) {
  await waitFor(() => {
    const st = srv.smsctlOk(['route', 'status', '--json']).json;
    const r = st.find((x) => x.name === name);
    return r && r.up;
  }, { what: `route ${name} to be bound` });
}

describe('SMPP route to an SMSC simulator', () => {
  let srv, fr, es, pt, keys, sn, client;

  before(async () => {
    fr = await new Smsc({ systemId: 'acme-fr', password: 'secret' }).start();
    // Responses in upper-case hex with leading zeros, receipts in decimal, in the text.
    es = await new Smsc({ systemId: 'acme-es', idForm: 'HEX0', receiptIdForm: 'dec' }).start();
    // Decimal responses, receipts as data_sm with TLVs and the id in lower-case hex.
    pt = await new Smsc({ systemId: 'acme-pt', idForm: 'dec', receiptIdForm: 'hex', receiptVia: 'data_sm',
      respond: (s) => (s.destination_addr.endsWith('0009') ? 0x0b : 0) }).start();
    srv = await startServer({ args: FAST });
    srv.smsctlOk(['route', 'add', 'orange-fr', '--smpp', `127.0.0.1:${fr.port}`, '--system-id', 'acme-fr',
      '--password', 'secret', '--prefix', '+33', '--window', '10']);
    srv.smsctlOk(['route', 'add', 'movistar-es', '--smpp', `127.0.0.1:${es.port}`, '--system-id', 'acme-es',
      '--prefix', '+34', '--bind-mode', 'transmitter+receiver', '--binds', '2']);
    srv.smsctlOk(['route', 'add', 'meo-pt', '--smpp', `127.0.0.1:${pt.port}`, '--system-id', 'acme-pt',
      '--prefix', '+351', '--concat', 'sar']);
    await waitBound(srv, 'orange-fr');
    await waitBound(srv, 'movistar-es');
    await waitBound(srv, 'meo-pt');
    keys = srv.createAccount('smpp-basic', 100);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => {
    await srv?.finish();
    await fr?.stop();
    await es?.stop();
    await pt?.stop();
  });

  test('one SMS goes out with the right submit_sm fields and its receipt gives deliveryReceipt 1', async () => {
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hello from smsgate', senderForResponse: true, noStopClause: true,
      receivers: ['+33612345678'],
    });
    const id = rep.ids[0];
    const o = await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    assert.equal(o.ptt, 4);
    assert.ok(o.deliveredAt);
    const subs = fr.submits.filter((s) => s.destination_addr === '33612345678');
    assert.equal(subs.length, 1, 'exactly one submit_sm');
    const s = subs[0];
    assert.equal(s.systemId, 'acme-fr');
    assert.equal(s.dest_addr_ton, 1);
    assert.equal(s.dest_addr_npi, 1);
    assert.equal(s.source_addr, '36184'); // the service's short number
    assert.equal(s.source_addr_ton, 3);   // a short code: network specific
    assert.equal(s.source_addr_npi, 0);
    assert.equal(s.data_coding, 0);
    assert.equal(s.esm_class, 0);
    assert.equal(s.registered_delivery, 1);
    assert.equal(s.validity_period, '000002000000000R'); // 2880 minutes, relative
    assert.equal(s.text, 'Hello from smsgate');
    // The operator id is stored with the message.
    const row = srv.sql(`SELECT route, smsc_id FROM messages WHERE id = ${id}`)[0];
    assert.deepEqual(row, { route: 'orange-fr', smsc_id: s.messageId });
  });

  test('an alphanumeric sender goes as TON 5, an international number as TON 1', async () => {
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender: 'Acme', reason: 'brand' });
    srv.smsctlOk(['sender', 'approve', sn, 'Acme']);
    await client.requestPromised('POST', `/sms/${sn}/senders`, { sender: '+33600000001', reason: 'our line' });
    srv.smsctlOk(['sender', 'approve', sn, '+33600000001']);
    const a = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'alpha', sender: 'Acme', noStopClause: true, receivers: ['+33612345671'] });
    const b = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'number', sender: '+33600000001', noStopClause: true, receivers: ['+33612345672'] });
    await waitOutgoing(client, sn, a.ids[0], (m) => m.deliveryReceipt === 1);
    await waitOutgoing(client, sn, b.ids[0], (m) => m.deliveryReceipt === 1);
    const sa = fr.submits.find((s) => s.destination_addr === '33612345671');
    const sb = fr.submits.find((s) => s.destination_addr === '33612345672');
    assert.deepEqual([sa.source_addr, sa.source_addr_ton, sa.source_addr_npi], ['Acme', 5, 0]);
    assert.deepEqual([sb.source_addr, sb.source_addr_ton, sb.source_addr_npi], ['33600000001', 1, 1]);
  });

  test('a 3-part UCS-2 message goes as 3 concatenated submit_sm and is reported once, final', async () => {
    const text = 'Привет, мир! Это сообщение на русском языке, чтобы проверить UCS-2. '.repeat(3).slice(0, 180);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: text, senderForResponse: true, noStopClause: true, receivers: ['+33612345673'] });
    const id = rep.ids[0];
    const o = await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    assert.equal(o.numberOfSms, 3);
    const parts = fr.submits.filter((s) => s.destination_addr === '33612345673');
    assert.equal(parts.length, 3);
    for (const [i, p] of parts.entries()) {
      assert.equal(p.data_coding, 8);
      assert.equal(p.esm_class & 0x40, 0x40, 'UDH indicator');
      assert.equal(p.udh.bits, 8);
      assert.equal(p.udh.total, 3);
      assert.equal(p.udh.seq, i + 1);
      assert.equal(p.udh.ref, parts[0].udh.ref);
      assert.ok(p.short_message.length <= 140);
    }
    assert.equal(parts.map((p) => p.text).join(''), text);
    // Three receipts, one final state: one 'delivered' event, after one 'submitted'.
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM smpp_parts WHERE message_id = ${id}`)[0].n === 3);
    const ev = srv.sql(`SELECT state, dlr FROM events WHERE message_id = ${id} ORDER BY id`);
    assert.equal(ev.filter((e) => e.state === 5).length, 1, `events: ${JSON.stringify(ev)}`);
    assert.equal(ev.at(-1).state, 5);
    assert.equal(ev.filter((e) => e.state === 6).length, 0);
  });

  test('a GSM-7 message with SAR TLVs: 2 submit_sm without UDH, same reference', async () => {
    const text = 'Portugal '.repeat(20).trim(); // 179 GSM-7 characters: 2 parts
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: text, senderForResponse: true, noStopClause: true, receivers: ['+351912345678'] });
    await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 1);
    const parts = pt.submits.filter((s) => s.destination_addr === '351912345678');
    assert.equal(parts.length, 2);
    assert.deepEqual(parts.map((p) => [p.sar.total, p.sar.seq]), [[2, 1], [2, 2]]);
    assert.equal(parts[0].sar.ref, parts[1].sar.ref);
    assert.equal(parts[0].esm_class & 0x40, 0);
    assert.equal(parts.map((p) => p.text).join(''), text);
  });

  test('receipts match whatever form the id takes (hex/decimal, case, leading zeros, TLVs)', async () => {
    // movistar-es: submit_sm_resp "00000003E9" style, receipts "id:1001" (decimal), on the
    // receiver binds of a transmitter+receiver pair.
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'hola', senderForResponse: true, noStopClause: true,
      receivers: ['+34612345678', '+34612345679', '+34612345670'] });
    for (const id of rep.ids) await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    const s = es.submits.find((x) => x.destination_addr === '34612345678');
    assert.match(s.messageId, /^[0-9A-F]{10}$/);
    // meo-pt: decimal ids in the response, data_sm receipts with receipted_message_id in hex.
    const r2 = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'ola', senderForResponse: true, noStopClause: true, receivers: ['+351912345671'] });
    await waitOutgoing(client, sn, r2.ids[0], (m) => m.deliveryReceipt === 1 && m.ptt === 4);
    assert.equal(srv.sql("SELECT COUNT(*) AS n FROM smpp_orphans")[0].n, 0, 'no receipt left unmatched');
  });

  test('a permanent refusal fails the message with its ptt and refunds it', async () => {
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'nope', senderForResponse: true, noStopClause: true, receivers: ['+351912340009'] });
    const o = await waitOutgoing(client, sn, rep.ids[0], (m) => m.deliveryReceipt === 16);
    assert.equal(o.ptt, 23); // ESME_RINVDSTADR: invalid number
    const after = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    assert.equal(after, before, 'the message was refunded');
    assert.equal(pt.submits.filter((s) => s.destination_addr === '351912340009').length, 1,
      'a permanent refusal is not retried');
  });

  test('a mobile-originated message is stored and acknowledged', async () => {
    const status = await fr.sendMO({ systemId: 'acme-fr', from: '33611112222', to: '36184', text: 'STOP please' });
    assert.equal(status, 0);
    const rows = await waitFor(() => {
      const r = srv.sql("SELECT route, sender AS source, receiver AS destination, message FROM incoming WHERE sender = '+33611112222'");
      return r.length ? r : null;
    });
    assert.deepEqual(rows[0], { route: 'orange-fr', source: '+33611112222', destination: '36184', message: 'STOP please' });
  });
});
