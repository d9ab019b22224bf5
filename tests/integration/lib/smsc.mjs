// smsc.mjs - an SMSC simulator for the integration tests, built on the npm package `smpp`
// (server mode), independent of smsgate's own codec.
//
// What it does:
//   - listens on 127.0.0.1 (plain or TLS), accepts binds (transmitter, receiver, transceiver),
//     checks system_id/password when configured, answers enquire_link and unbind;
//   - records every submit_sm with its arrival time, its raw fields (parsed here from the raw
//     PDU bytes, so the test sees exactly what went on the wire) and the decoded text;
//   - answers each submit_sm with a status chosen by opts.respond(sub) (default 0) and a
//     message id in the form opts.idForm ('dec', 'hex', 'HEX0': upper-case hex with leading
//     zeros);
//   - sends a delivery receipt for every accepted submit that asked for one, after
//     receiptDelayMs, on a bound receiver/transceiver of the same system_id: the standard text
//     "id:... stat:... err:..." and/or the receipted_message_id + message_state TLVs
//     (opts.receiptVia: 'text', 'tlv', 'both', 'data_sm'), with the id in opts.receiptIdForm.
//     Receipts not acknowledged (connection lost) are sent again on the next bind, like a
//     real SMSC with a persistent store;
//   - stop() kills it (closes every connection without unbind); start() again listens on the
//     same port and keeps its memory (messages, ids, pending receipts).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const smpp = require('smpp');

// Keep the raw bytes of every decoded PDU.
const origFromBuffer = smpp.PDU.prototype.fromBuffer;
smpp.PDU.prototype.fromBuffer = function fromBuffer(buf) {
  this._raw = Buffer.from(buf);
  return origFromBuffer.call(this, buf);
};

const GSM = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT = { 0x0a: '\f', 0x14: '^', 0x28: '{', 0x29: '}', 0x2f: '\\', 0x3c: '[', 0x3d: '~', 0x3e: ']', 0x40: '|', 0x65: '€' };

export function decodeGsm(septets) {
  let s = '';
  for (let i = 0; i < septets.length; i++) {
    if (septets[i] === 0x1b && i + 1 < septets.length) s += GSM_EXT[septets[++i]] ?? ' ';
    else s += GSM[septets[i]] ?? '?';
  }
  return s;
}

export function unpack7(buf, fillBits, count) {
  const out = [];
  let bit = fillBits;
  while (out.length < count) {
    const byte = bit >> 3, off = bit & 7;
    if (byte >= buf.length) break;
    let v = buf[byte] >> off;
    if (off > 1 && byte + 1 < buf.length) v |= buf[byte + 1] << (8 - off);
    out.push(v & 0x7f);
    bit += 7;
  }
  return out;
}

// Parses the body of a submit_sm from its raw bytes.
export function parseSubmit(raw) {
  let o = 16;
  const cstr = () => { const e = raw.indexOf(0, o); const s = raw.toString('latin1', o, e); o = e + 1; return s; };
  const u8 = () => raw[o++];
  const f = {};
  f.service_type = cstr();
  f.source_addr_ton = u8(); f.source_addr_npi = u8(); f.source_addr = cstr();
  f.dest_addr_ton = u8(); f.dest_addr_npi = u8(); f.destination_addr = cstr();
  f.esm_class = u8(); f.protocol_id = u8(); f.priority_flag = u8();
  f.schedule_delivery_time = cstr(); f.validity_period = cstr();
  f.registered_delivery = u8(); f.replace_if_present_flag = u8(); f.data_coding = u8();
  f.sm_default_msg_id = u8();
  const len = u8();
  f.short_message = raw.subarray(o, o + len); o += len;
  f.tlvs = {};
  const end = raw.readUInt32BE(0);
  while (o + 4 <= end) {
    const tag = raw.readUInt16BE(o), l = raw.readUInt16BE(o + 2);
    f.tlvs[tag] = raw.subarray(o + 4, o + 4 + l);
    o += 4 + l;
  }
  return f;
}

// Splits a short_message into {udh: {ref, total, seq, bits} | null, body}.
export function splitUdh(f) {
  const sm = f.short_message;
  if (!(f.esm_class & 0x40) || sm.length === 0) return { udh: null, body: sm, udhLen: 0 };
  const hl = sm[0] + 1;
  let udh = null;
  for (let i = 1; i < hl;) {
    const iei = sm[i], l = sm[i + 1];
    if (iei === 0x00 && l === 3) udh = { bits: 8, ref: sm[i + 2], total: sm[i + 3], seq: sm[i + 4] };
    if (iei === 0x08 && l === 4) udh = { bits: 16, ref: sm.readUInt16BE(i + 2), total: sm[i + 4], seq: sm[i + 5] };
    i += 2 + l;
  }
  return { udh, body: sm.subarray(hl), udhLen: hl };
}

const fmtDate = (d) => {
  const p = (n) => String(n).padStart(2, '0');
  return p(d.getUTCFullYear() % 100) + p(d.getUTCMonth() + 1) + p(d.getUTCDate()) + p(d.getUTCHours()) + p(d.getUTCMinutes());
};

export class Smsc {
  constructor(opts = {}) {
    this.opts = {
      systemId: null, password: null, idForm: 'dec', receiptIdForm: null, receiptVia: 'text',
      receiptDelayMs: 20, respondDelayMs: 0, respond: () => 0, receiptStat: () => ['DELIVRD', 0],
      pack7: false, ...opts,
    };
    this.port = opts.port || 0;
    this.submits = [];      // every submit_sm received, in order
    this.binds = [];        // {systemId, command, status, time}
    this.mos = [];
    this.nextId = 1000;
    this.pendingReceipts = []; // {systemId, fields}
    this.sessions = new Set();
    this.server = null;
    this.receiptsSent = 0;
    this.receiptsAcked = 0;
    this.maxBound = 0;
  }

  // Binds held now (of systemId, or all).
  boundCount(systemId) {
    return [...this.sessions].filter((s) => s.bound && (!systemId || s.systemId === systemId)).length;
  }

  formatId(n, form) {
    switch (form) {
      case 'hex': return n.toString(16);
      case 'HEX0': return n.toString(16).toUpperCase().padStart(10, '0');
      case 'dec0': return String(n).padStart(12, '0');
      default: return String(n);
    }
  }

  async start() {
    const listener = (session) => this.onSession(session);
    this.server = this.opts.tls ? smpp.createServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, listener)
      : smpp.createServer(listener);
    this.server.on('error', () => {});
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = this.server.address().port;
    return this;
  }

  // Kills the SMSC: every connection is dropped without unbind; memory is kept.
  async stop() {
    if (!this.server) return;
    const srv = this.server;
    this.server = null;
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
    await new Promise((resolve) => srv.close(() => resolve()));
  }

  boundReceivers(systemId) {
    return [...this.sessions].filter((s) => s.bound && s.canReceive && s.systemId === systemId);
  }

  onSession(session) {
    this.sessions.add(session);
    session.on('error', () => {});
    session.on('close', () => {
      this.sessions.delete(session);
      // Receipts sent on it and not acknowledged go back to the queue.
      for (const r of session.unacked || []) this.pendingReceipts.push(r);
      session.unacked = [];
    });
    const onBind = (kind) => (pdu) => {
      const ok = (!this.opts.systemId || pdu.system_id === this.opts.systemId)
        && (!this.opts.password || pdu.password === this.opts.password);
      const status = ok ? 0 : smpp.ESME_RINVPASWD;
      this.binds.push({ systemId: pdu.system_id, command: pdu.command, status, time: performance.now() });
      session.send(pdu.response({ command_status: status, system_id: 'SIMSMSC' }));
      if (!ok) { setTimeout(() => session.close(), 10); return; }
      session.bound = true;
      session.systemId = pdu.system_id;
      // The most binds held at once (an operator refuses more than it allows: issue 13's
      // cluster test checks that the nodes together never exceed a route's --binds).
      this.maxBound = Math.max(this.maxBound, [...this.sessions].filter((x) => x.bound).length);
      session.canReceive = kind !== 'tx';
      session.unacked = [];
      if (session.canReceive) setImmediate(() => this.flushReceipts());
    };
    session.on('bind_transceiver', onBind('trx'));
    session.on('bind_transmitter', onBind('tx'));
    session.on('bind_receiver', onBind('rx'));
    session.on('enquire_link', (pdu) => session.send(pdu.response()));
    session.on('unbind', (pdu) => { session.send(pdu.response()); setTimeout(() => session.close(), 10); });
    session.on('submit_sm', (pdu) => this.onSubmit(session, pdu));
    session.on('deliver_sm_resp', (pdu) => this.onReceiptResp(session, pdu));
    session.on('data_sm_resp', (pdu) => this.onReceiptResp(session, pdu));
  }

  onSubmit(session, pdu) {
    const f = parseSubmit(pdu._raw);
    const { udh, body, udhLen } = splitUdh(f);
    let text;
    if ((f.data_coding & 0x0f) === 0x08 || f.data_coding === 0x08) {
      text = Buffer.from(body).swap16 ? Buffer.from(body).swap16().toString('utf16le') : '';
    } else if (this.opts.pack7) {
      const fill = udhLen ? (7 - ((udhLen * 8) % 7)) % 7 : 0;
      const count = Math.floor((body.length * 8 - fill) / 7);
      text = decodeGsm(unpack7(body, fill, count));
    } else {
      text = decodeGsm([...body]);
    }
    const sar = f.tlvs[0x020c] ? { ref: f.tlvs[0x020c].readUInt16BE(0), total: f.tlvs[0x020e]?.[0], seq: f.tlvs[0x020f]?.[0] } : null;
    const sub = {
      time: performance.now(), systemId: session.systemId, bound: !!session.bound, seq: pdu.sequence_number,
      ...f, udh, sar, text, status: 0, messageId: null,
    };
    if (!session.bound) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVBNDSTS }));
      return;
    }
    const status = this.opts.respond(sub, this) || 0;
    sub.status = status;
    this.submits.push(sub);
    const answer = () => {
      if (status !== 0) {
        session.send(pdu.response({ command_status: status }));
        return;
      }
      const n = this.nextId++;
      sub.messageId = this.formatId(n, this.opts.idForm);
      sub.idNumber = n;
      session.send(pdu.response({ message_id: sub.messageId }));
      if (f.registered_delivery & 1) {
        const [stat, err] = this.opts.receiptStat(sub, this);
        const rid = this.formatId(n, this.opts.receiptIdForm || this.opts.idForm);
        const now = new Date();
        const textR = `id:${rid} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:${fmtDate(now)} done date:${fmtDate(now)} stat:${stat} err:${String(err).padStart(3, '0')} text:${text.slice(0, 20)}`;
        const states = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };
        const r = { systemId: session.systemId, sub, fields: { rid, textR, state: states[stat] ?? 7, err } };
        setTimeout(() => { this.pendingReceipts.push(r); this.flushReceipts(); }, this.opts.receiptDelayMs);
      }
    };
    if (this.opts.respondDelayMs) setTimeout(answer, this.opts.respondDelayMs);
    else answer();
  }

  flushReceipts() {
    const keep = [];
    for (const r of this.pendingReceipts) {
      const rx = this.boundReceivers(r.systemId);
      if (!rx.length) { keep.push(r); continue; }
      const s = rx[this.receiptsSent % rx.length];
      this.sendReceipt(s, r);
    }
    this.pendingReceipts = keep;
  }

  sendReceipt(session, r) {
    const via = this.opts.receiptVia;
    const sub = r.sub;
    const common = {
      source_addr_ton: 1, source_addr_npi: 1, source_addr: sub.destination_addr,
      dest_addr_ton: sub.source_addr_ton, dest_addr_npi: sub.source_addr_npi, destination_addr: sub.source_addr,
    };
    let pdu;
    if (via === 'data_sm') {
      pdu = new smpp.PDU('data_sm', {
        ...common, esm_class: 0x04, data_coding: 0,
        receipted_message_id: r.fields.rid, message_state: r.fields.state,
        network_error_code: Buffer.from([3, 0, r.fields.err]),
      });
    } else {
      const opts = { ...common, esm_class: 0x04, data_coding: 0 };
      if (via === 'text' || via === 'both') opts.short_message = Buffer.from(r.fields.textR, 'latin1');
      if (via === 'tlv' || via === 'both') {
        opts.receipted_message_id = r.fields.rid;
        opts.message_state = r.fields.state;
      }
      pdu = new smpp.PDU('deliver_sm', opts);
    }
    session.unacked.push(r);
    r.seqSession = session;
    this.receiptsSent++;
    session.send(pdu);
    r.seq = pdu.sequence_number;
  }

  onReceiptResp(session, pdu) {
    const i = (session.unacked || []).findIndex((r) => r.seq === pdu.sequence_number);
    if (i < 0) return;
    const [r] = session.unacked.splice(i, 1);
    if (pdu.command_status === 0) { this.receiptsAcked++; r.acked = true; }
    else setTimeout(() => { this.pendingReceipts.push(r); this.flushReceipts(); }, 200);
  }

  // Sends a mobile-originated message (a deliver_sm that is not a receipt).
  sendMO({ systemId, from, to, text, ucs2 = false }) {
    const rx = this.boundReceivers(systemId);
    if (!rx.length) throw new Error('no bound receiver for the MO');
    return new Promise((resolve) => {
      const pdu = new smpp.PDU('deliver_sm', {
        source_addr_ton: 1, source_addr_npi: 1, source_addr: from,
        dest_addr_ton: 0, dest_addr_npi: 0, destination_addr: to, esm_class: 0,
        data_coding: ucs2 ? 8 : 0,
        short_message: ucs2 ? Buffer.from(text, 'utf16le').swap16() : Buffer.from(text, 'latin1'),
      });
      rx[0].send(pdu, (resp) => { this.mos.push({ from, to, text, status: resp.command_status }); resolve(resp.command_status); });
    });
  }

  // Accepted submits whose text starts with prefix, grouped: text -> count.
  acceptedTexts() {
    const m = new Map();
    for (const s of this.submits) if (s.status === 0) m.set(s.text, (m.get(s.text) || 0) + 1);
    return m;
  }
}

// The largest number of submits (of the given list) within any window of windowMs.
export function maxInWindow(submits, windowMs = 1000) {
  const t = submits.map((s) => s.time).sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i] - t[j] >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}
