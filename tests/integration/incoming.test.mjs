// incoming.test.mjs - SMS from mobiles through SMPP routes to the test SMSC (lib/smsc.mjs, npm
// `smpp`), issue 14 point 1: replies in GSM 7-bit (unpacked, and packed on a --pack7 route),
// UCS-2 (with a character outside the BMP) and Latin-1; a 3-part reply (UDH, 8-bit reference)
// whose parts arrive out of order on three different binds of two routes, shown by `smsctl
// incoming list --partial` until whole; a 2-part one with a 16-bit reference and one with the
// SAR TLVs; a data_sm reply with message_payload; replies on a bind other than the one that
// submitted; a reply to nobody kept unattributed; a message to a virtual number; the API
// (/incoming and /virtualNumbers/{number}/incoming: list with filters, get, delete) through
// the OVH SDK and checked against OVH's schema (sms.Incoming); SIGKILL right after the SMSC
// got its deliver_sm_resp: the message is there after the restart.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from './lib/test.mjs';

import { sdkError, startServer, waitFor, waitOutgoing } from './lib/harness.mjs';
import { checkModel, checkResponse, loadSchema, schemaMissing } from './lib/ovhschema.mjs';
import { Smsc } from './lib/smsc.mjs';

const require = createRequire(import.meta.url);
const smpp = require('smpp');

const FAST = ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '500'];

// GSM 03.38 (our own table, independent of the server's) to septets.
const GSM = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT = { '\f': 0x0a, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f, '[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65 };
function septets(text) {
  const out = [];
  for (const ch of text) {
    if (GSM_EXT[ch] !== undefined) out.push(0x1b, GSM_EXT[ch]);
    else {
      const i = GSM.indexOf(ch);
      assert.ok(i >= 0, `not in GSM 03.38: ${ch}`);
      out.push(i);
    }
  }
  return out;
}
// Packs septets, skipping fill bits first (after a UDH).
function pack7(sept, fill = 0) {
  const out = Buffer.alloc(Math.ceil((fill + 7 * sept.length) / 8));
  let bit = fill;
  for (const v of sept) {
    const byte = bit >> 3, off = bit & 7;
    out[byte] |= (v << off) & 0xff;
    if (off > 1) out[byte + 1] |= v >> (8 - off);
    bit += 7;
  }
  return out;
}
const ucs2 = (s) => Buffer.from(s, 'utf16le').swap16();

// Sends one PDU (deliver_sm or data_sm) on a given SMSC session; resolves to command_status.
function sendOn(session, command, fields) {
  return new Promise((resolve) => {
    const pdu = new smpp.PDU(command, {
      source_addr_ton: 1, source_addr_npi: 1, dest_addr_ton: 0, dest_addr_npi: 0,
      esm_class: 0, data_coding: 0, ...fields,
    });
    session.send(pdu, (resp) => resolve(resp.command_status));
  });
}

async function waitBound(srv, name, binds = 1) {
  await waitFor(() => {
    const st = srv.smsctlOk(['route', 'status', '--json']).json;
    const r = st.find((x) => x.name === name);
    return r && r.up;
  }, { what: `route ${name} to be bound` });
}

// The receiving sessions of an SMSC, once n of them are bound.
async function receivers(smsc, systemId, n) {
  return waitFor(() => {
    const rx = smsc.boundReceivers(systemId);
    return rx.length >= n ? rx : null;
  }, { what: `${n} receiving binds of ${systemId}` });
}

const incomingRow = (srv, where) => waitFor(() => {
  const r = srv.sql(`SELECT id, service_id, virtual_number, sender, receiver, message, tag, reply_to_id, route, parts FROM incoming WHERE ${where}`);
  return r.length ? r : null;
}, { what: `incoming ${where}` });

describe('incoming SMS through SMPP routes', () => {
  let srv, fr, sfr, acme, bob, ca, cb, sentId, orange;

  before(async () => {
    fr = await new Smsc({ systemId: 'inc-fr' }).start();
    sfr = await new Smsc({ systemId: 'inc-sfr' }).start();
    srv = await startServer({ args: FAST });
    srv.smsctlOk(['route', 'add', 'orange-fr', '--smpp', `127.0.0.1:${fr.port}`, '--system-id', 'inc-fr',
      '--prefix', '+33', '--binds', '2']);
    // Another route, only for receiving here (lower priority), packed GSM, receiver binds.
    srv.smsctlOk(['route', 'add', 'sfr-fr', '--smpp', `127.0.0.1:${sfr.port}`, '--system-id', 'inc-sfr',
      '--prefix', '+33', '--priority', '500', '--pack7', '--bind-mode', 'transmitter+receiver']);
    await waitBound(srv, 'orange-fr');
    await waitBound(srv, 'sfr-fr');
    orange = await receivers(fr, 'inc-fr', 2);
    acme = srv.createAccount('inc-acme', 100);
    bob = srv.createAccount('inc-bob', 100);
    ca = srv.sdk(acme);
    cb = srv.sdk(bob);
    srv.smsctlOk(['number', 'add', bob.serviceName, '+33700000001']);
    // acme texts a mobile from its short number; the replies below answer it.
    const rep = await ca.requestPromised('POST', `/sms/${acme.serviceName}/jobs`, {
      message: 'Venez-vous samedi ?', senderForResponse: true, noStopClause: true,
      receivers: ['+33611110001'], tag: 'rsvp',
    });
    sentId = rep.ids[0];
    await waitOutgoing(ca, acme.serviceName, sentId, (m) => m.deliveryReceipt === 1);
  });
  after(async () => {
    await srv?.finish();
    await fr?.stop();
    await sfr?.stop();
  });

  test('GSM 7-bit replies on both binds of the route (one of them did not submit) are attributed to the sender', async () => {
    const text = 'Oui, à samedi! 10€ [ok]';
    for (const [k, s] of orange.entries()) {
      const st = await sendOn(s, 'deliver_sm', {
        source_addr: '33611110001', destination_addr: '36184', short_message: Buffer.from(septets(`${text} #${k}`)),
      });
      assert.equal(st, 0);
    }
    for (const k of [0, 1]) {
      const [row] = await incomingRow(srv, `message = '${text.replace(/'/g, "''")} #${k}'`);
      assert.equal(Number(row.service_id), Number(srv.sql(`SELECT id FROM services WHERE name = '${acme.serviceName}'`)[0].id));
      assert.equal(Number(row.reply_to_id), sentId);
      assert.equal(row.sender, '+33611110001');
      assert.equal(row.receiver, '36184');
      assert.equal(row.route, 'orange-fr');
      assert.equal(row.tag, 'rsvp');
    }
  });

  test('a reply on another route, packed GSM, UCS-2 with an emoji and Latin-1 are decoded to UTF-8', async () => {
    const [sfrRx] = await receivers(sfr, 'inc-sfr', 1);
    assert.equal(await sendOn(sfrRx, 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', short_message: pack7(septets('Packed reply: 1234567')),
    }), 0);
    assert.equal(await sendOn(orange[1], 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', data_coding: 8, short_message: ucs2('Привет 😀 ok'),
    }), 0);
    assert.equal(await sendOn(orange[0], 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', data_coding: 3, short_message: Buffer.from('Café à Noël', 'latin1'),
    }), 0);
    const [p] = await incomingRow(srv, "message = 'Packed reply: 1234567'");
    assert.equal(p.route, 'sfr-fr');
    assert.equal(Number(p.reply_to_id), sentId);
    const [u] = await incomingRow(srv, "message = 'Привет 😀 ok'");
    assert.equal(Number(u.reply_to_id), sentId);
    const [l] = await incomingRow(srv, "message = 'Café à Noël'");
    assert.equal(Number(l.reply_to_id), sentId);
  });

  test('a 3-part reply (UDH, 8-bit reference) arriving out of order on three binds of two routes is stored once, whole', async () => {
    const parts = ['Merci pour votre message, ', 'nous serons bien là samedi ', 'avec les enfants.'];
    const udh = (seq) => Buffer.from([0x05, 0x00, 0x03, 0x5a, 0x03, seq]);
    const [sfrRx] = await receivers(sfr, 'inc-sfr', 1);
    // part 3 on orange bind 2 (unpacked), part 1 on sfr (packed, after the UDH: 1 fill bit)
    assert.equal(await sendOn(orange[1], 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', esm_class: 0x40,
      short_message: Buffer.concat([udh(3), Buffer.from(septets(parts[2]))]),
    }), 0);
    assert.equal(await sendOn(sfrRx, 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', esm_class: 0x40,
      short_message: Buffer.concat([udh(1), pack7(septets(parts[0]), 1)]),
    }), 0);
    // Acknowledged, stored, not yet a message: listed as partial.
    await waitFor(() => {
      const p = srv.smsctlOk(['incoming', 'list', '--partial', '--json']).json;
      return p.find((x) => x.sender === '+33611110001' && x.reference === 0x5a && x.received === 2 && x.parts === 3);
    }, { what: 'the partial message' });
    const human = srv.smsctlOk(['incoming', 'list', '--partial']).stdout;
    assert.match(human, /\+33611110001\s+36184\s+\S+\s+90\s+2\/3/);
    assert.equal(srv.sql("SELECT COUNT(*) AS n FROM incoming WHERE message LIKE 'Merci pour%'")[0].n * 1, 0);
    assert.equal(await sendOn(orange[0], 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', esm_class: 0x40,
      short_message: Buffer.concat([udh(2), Buffer.from(septets(parts[1]))]),
    }), 0);
    const [row] = await incomingRow(srv, "message LIKE 'Merci pour%'");
    assert.equal(row.message, parts.join(''));
    assert.equal(Number(row.parts), 3);
    assert.equal(Number(row.reply_to_id), sentId);
    assert.equal(srv.smsctlOk(['incoming', 'list', '--partial', '--json']).json.filter((x) => x.reference === 0x5a).length, 0);
  });

  test('2-part replies with a 16-bit reference (UCS-2) and with SAR TLVs are reassembled', async () => {
    const udh16 = (seq) => Buffer.from([0x06, 0x08, 0x04, 0xbe, 0xef, 0x02, seq]);
    assert.equal(await sendOn(orange[0], 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', esm_class: 0x40, data_coding: 8,
      short_message: Buffer.concat([udh16(2), ucs2('второй')]),
    }), 0);
    assert.equal(await sendOn(orange[1], 'deliver_sm', {
      source_addr: '33611110001', destination_addr: '36184', esm_class: 0x40, data_coding: 8,
      short_message: Buffer.concat([udh16(1), ucs2('первый + ')]),
    }), 0);
    const [u] = await incomingRow(srv, "message = 'первый + второй'");
    assert.equal(Number(u.parts), 2);
    for (const [seq, s, text] of [[2, orange[0], 'the end.'], [1, orange[1], 'SAR: start, ']]) {
      assert.equal(await sendOn(s, 'deliver_sm', {
        source_addr: '33611110001', destination_addr: '36184', short_message: Buffer.from(septets(text)),
        sar_msg_ref_num: 0x1234, sar_total_segments: 2, sar_segment_seqnum: seq,
      }), 0);
    }
    const [sar] = await incomingRow(srv, "message = 'SAR: start, the end.'");
    assert.equal(Number(sar.reply_to_id), sentId);
  });

  test('a data_sm reply with message_payload is stored', async () => {
    const text = 'Réponse longue par data_sm: '.padEnd(200, 'x');
    assert.equal(await sendOn(orange[1], 'data_sm', {
      source_addr: '33611110001', destination_addr: '36184', data_coding: 8, message_payload: ucs2(text),
    }), 0);
    const [row] = await incomingRow(srv, "message LIKE 'Réponse longue par data_sm:%'");
    assert.equal(row.message, text);
    assert.equal(Number(row.reply_to_id), sentId);
  });

  test('a reply nobody asked for is kept unattributed and listed by smsctl incoming list --unattributed', async () => {
    assert.equal(await sendOn(orange[0], 'deliver_sm', {
      source_addr: '33699999999', destination_addr: '36184', short_message: Buffer.from(septets('Qui est-ce ?')),
    }), 0);
    const [row] = await incomingRow(srv, "message = 'Qui est-ce ?'");
    assert.equal(Number(row.service_id), 0);
    assert.equal(Number(row.reply_to_id), 0);
    const un = srv.smsctlOk(['incoming', 'list', '--unattributed', '--json']).json;
    assert.ok(un.find((x) => x.message === 'Qui est-ce ?' && x.service === null && x.sender === '+33699999999'));
    assert.ok(!un.find((x) => x.service !== null));
    const human = srv.smsctlOk(['incoming', 'list', '--unattributed']).stdout;
    assert.match(human, /ID\s+DATE\s+SERVICE\s+FROM\s+TO\s+REPLY-TO\s+ROUTE\s+TEXT/);
    assert.match(human, /\+33699999999\s+36184\s+-\s+orange-fr\s+Qui est-ce \?/);
    const mine = srv.smsctlOk(['incoming', 'list', '--service', acme.serviceName, '--json']).json;
    assert.ok(mine.length >= 8 && mine.every((x) => x.service === acme.serviceName));
    const ids = await ca.requestPromised('GET', `/sms/${acme.serviceName}/incoming`);
    assert.ok(!ids.includes(Number(row.id)), "not in acme's /incoming");
    const e = await sdkError(ca.requestPromised('GET', `/sms/${acme.serviceName}/incoming/${row.id}`));
    assert.equal(e.error, 404);
  });

  test('a message to a virtual number belongs to its service, under /virtualNumbers/{number}/incoming too', async () => {
    assert.equal(await sendOn(orange[1], 'deliver_sm', {
      source_addr: '33622220002', destination_addr: '33700000001', dest_addr_ton: 1, dest_addr_npi: 1,
      short_message: Buffer.from(septets('Bonjour Bob')),
    }), 0);
    const [row] = await incomingRow(srv, "message = 'Bonjour Bob'");
    assert.equal(row.virtual_number, '+33700000001');
    assert.equal(row.receiver, '+33700000001');
    const sn = bob.serviceName;
    const list = await cb.requestPromised('GET', `/sms/${sn}/virtualNumbers/33700000001/incoming`);
    assert.deepEqual(list, [Number(row.id)]);
    assert.deepEqual(await cb.requestPromised('GET', `/sms/${sn}/incoming`), [Number(row.id)]);
    const one = await cb.requestPromised('GET', `/sms/${sn}/virtualNumbers/33700000001/incoming/${row.id}`);
    assert.equal(one.message, 'Bonjour Bob');
    assert.equal(one.sender, '+33622220002');
    assert.equal(one.credits, 0);
    assert.equal(one.tag, '');
    // Another number of nobody, or of another service: 404.
    let e = await sdkError(cb.requestPromised('GET', `/sms/${sn}/virtualNumbers/33700000009/incoming`));
    assert.equal(e.error, 404);
    e = await sdkError(ca.requestPromised('GET', `/sms/${acme.serviceName}/virtualNumbers/33700000001/incoming`));
    assert.equal(e.error, 404);
    assert.deepEqual(await cb.requestPromised('DELETE', `/sms/${sn}/virtualNumbers/33700000001/incoming/${row.id}`), null);
    e = await sdkError(cb.requestPromised('GET', `/sms/${sn}/incoming/${row.id}`));
    assert.equal(e.error, 404);
    assert.deepEqual(await cb.requestPromised('GET', `/sms/${sn}/incoming`), []);
  });

  test('/incoming filters (sender, tag, creationDatetime) and sms.Incoming match OVH\'s schema', { skip: schemaMissing() }, async () => {
    const schema = loadSchema();
    const sn = acme.serviceName;
    const all = await ca.requestPromised('GET', `/sms/${sn}/incoming`);
    checkResponse(schema, 'GET', '/sms/{serviceName}/incoming', all);
    assert.ok(all.length >= 8);
    assert.deepEqual([...all].sort((a, b) => b - a), all, 'newest first');
    const one = await ca.requestPromised('GET', `/sms/${sn}/incoming/${all[0]}`);
    checkModel(schema, 'sms.Incoming', one);
    checkResponse(schema, 'GET', '/sms/{serviceName}/incoming/{id}', one);
    assert.equal(one.tag, 'rsvp');
    assert.equal(one.sender, '+33611110001');
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/incoming`, { sender: '+33611110001' }), all);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/incoming`, { sender: '+33699999999' }), []);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/incoming`, { tag: 'rsvp' }), all);
    assert.deepEqual(await ca.requestPromised('GET', `/sms/${sn}/incoming`, { tag: 'other' }), []);
    const at = one.creationDatetime;
    const fromIt = await ca.requestPromised('GET', `/sms/${sn}/incoming`, { 'creationDatetime.from': at });
    assert.ok(fromIt.includes(all[0]));
    const before = await ca.requestPromised('GET', `/sms/${sn}/incoming`, { 'creationDatetime.to': '2020-01-01T00:00:00Z' });
    assert.deepEqual(before, []);
    const e = await sdkError(ca.requestPromised('GET', `/sms/${sn}/incoming`, { 'creationDatetime.from': 'yesterday' }));
    assert.equal(e.error, 400);
    assert.equal(await ca.requestPromised('DELETE', `/sms/${sn}/incoming/${all[0]}`), null);
    const e2 = await sdkError(ca.requestPromised('DELETE', `/sms/${sn}/incoming/${all[0]}`));
    assert.equal(e2.error, 404);
  });
});

describe('incoming SMS survive a crash', () => {
  test('SIGKILL right after the SMSC got its deliver_sm_resp: the message is there after the restart', { timeout: 60000 }, async () => {
    const smsc = await new Smsc({ systemId: 'inc-kill' }).start();
    const srv = await startServer({ args: FAST });
    try {
      srv.smsctlOk(['route', 'add', 'kill-fr', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', 'inc-kill', '--prefix', '+33']);
      await waitBound(srv, 'kill-fr');
      const [rx] = await receivers(smsc, 'inc-kill', 1);
      // A burst; the server is killed as soon as the first answer arrives. Every message
      // acknowledged with status 0 must be there afterwards.
      const acked = [];
      let killing = null;
      const sends = [];
      for (let i = 0; i < 20; i++) {
        sends.push(sendOn(rx, 'deliver_sm', {
          source_addr: '33633330003', destination_addr: '36184', short_message: Buffer.from(septets(`crash ${i}`)),
        }).then((st) => {
          if (st === 0) acked.push(`crash ${i}`);
          if (!killing) killing = srv.kill9();
        }));
      }
      await waitFor(() => killing, { what: 'a first answer' });
      await killing;
      const ackedAtKill = [...acked];
      assert.ok(ackedAtKill.length >= 1);
      await srv.restart();
      const rows = srv.sql("SELECT message FROM incoming WHERE sender = '+33633330003'").map((r) => r.message);
      for (const t of ackedAtKill) assert.ok(rows.includes(t), `${t} was acknowledged, so it must be stored`);
    } finally {
      await srv.finish();
      await smsc.stop();
    }
  });
});
