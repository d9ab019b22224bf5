// export.test.mjs - the CSV export of the SMS history (issue 15 point 5 "document", and its
// "Done when": a 1,000,000-row history export streams with peak RSS under 100 MB;
// docs/api.md, "History export"), through the official SDK and the document's getUrl:
//   * GET /sms/{sn}/document?wayType=outgoing answers a /me/document id once the file is
//     complete; the file downloaded from its getUrl has OVH's header and one line per SMS with
//     its fields (quotes, separators and line breaks in a message kept), delivered SMS with
//     their dates and receipt;
//   * the filters: tag, creationDatetime.from/.to (a future window gives the header only),
//     batchID (only the batch's SMS; an unknown batch none); wayType=incoming (the sim's 906
//     reply); deleted SMS left out;
//   * GET /sms/{sn}/users/{login}/document: that SMS user's SMS only (not the service's, not
//     another user's); an unknown login 404;
//   * errors: wayType missing or wrong, a date that is not one, another account's service;
//   * 1,000,000 SMS written straight into the database (one recursive INSERT), exported and
//     downloaded: every line there, in order, and smsgated's peak RSS (VmHWM, which only
//     grows) under 100 MB afterwards, on both stores (about 15 s on SQLite, 25 s on PostgreSQL,
//     most of it the INSERT).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from './lib/test.mjs';

import {
  assertOvhError, DB_KIND, databaseConninfo, psqlAsync, sdkError, startServer, uniq, waitFor,
  waitOutgoing,
} from './lib/harness.mjs';

const BIG_ROWS = 1000000;
const RSS_LIMIT_KB = 100 * 1024;
const OUT_HEADER = 'id;date;sender;receiver;ptt;operatorCode;descriptionDlr;tag;message;sentAt;deliveredAt';

// Parses a ';' CSV with quoted fields and CRLF line ends into arrays of fields.
function parseCsv(text) {
  const rows = [];
  let row = [], f = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (ch === '"') q = false; else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ';') { row.push(f); f = ''; } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(f); rows.push(row); row = []; f = ''; i++;
    } else f += ch;
  }
  if (f.length || row.length) { row.push(f); rows.push(row); }
  return rows;
}

// The module for a getUrl: the SDK speaks HTTPS, so the URLs handed out are https ones.
const get = (url, opts, cb) => (url.startsWith('https:') ? https : http).get(url, opts, cb);

// GET url (the document's getUrl, on loopback): resolves {status, headers, text}.
function download(url) {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function exportCsv(client, sn, query) {
  const id = await client.requestPromised('GET', `/sms/${sn}/document`, query);
  assert.equal(typeof id, 'string');
  const doc = await client.requestPromised('GET', `/me/document/${id}`);
  assert.equal(doc.id, id);
  const res = await download(doc.getUrl);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(String(res.headers['content-type']), /^text\/csv/);
  assert.equal(Buffer.byteLength(res.text), doc.size, 'the size recorded is the file\'s');
  return { id, doc, text: res.text, rows: parseCsv(res.text) };
}

function vmHWMkB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return m ? Number(m[1]) : 0;
}

describe('history export (GET /sms/{sn}/document)', { timeout: 600000 }, () => {
  let srv, keys, client, sn;
  before(async () => {
    srv = await startServer();
    keys = srv.createAccount(uniq('export'), 1000);
    client = srv.sdk(keys);
    sn = keys.serviceName;
  });
  after(async () => { if (srv) await srv.finish(); });

  test('outgoing: header, one line per SMS, fields, filters', async () => {
    const t0 = new Date(Date.now() - 2000).toISOString();
    const a = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hello; "world"\nline 2', receivers: ['+33612340001'], senderForResponse: true,
      noStopClause: true, tag: 'alpha',
    });
    const b = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Second', receivers: ['+33612340002', '+33612340003'], senderForResponse: true,
      noStopClause: true, tag: 'beta',
    });
    const gone = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Deleted later', receivers: ['+33612340004'], senderForResponse: true,
      noStopClause: true, tag: 'alpha',
    });
    const ids = [...a.ids, ...b.ids];
    for (const id of [...ids, ...gone.ids]) await waitOutgoing(client, sn, id, (m) => m.deliveryReceipt === 1);
    await client.requestPromised('DELETE', `/sms/${sn}/outgoing/${gone.ids[0]}`);

    const all = await exportCsv(client, sn, { wayType: 'outgoing' });
    assert.equal(all.text.split('\r\n')[0], OUT_HEADER);
    assert.deepEqual(all.rows[0], OUT_HEADER.split(';'));
    const lines = all.rows.slice(1);
    assert.deepEqual(lines.map((r) => Number(r[0])), ids, 'one line per SMS, by id, the deleted one left out');
    for (const r of lines) assert.equal(r.length, 11);
    const first = lines[0];
    const msg = await client.requestPromised('GET', `/sms/${sn}/outgoing/${ids[0]}`);
    assert.equal(first[2], msg.sender);
    assert.equal(first[3], '+33612340001');
    assert.equal(first[4], String(msg.ptt));
    assert.equal(first[5], '1');
    assert.equal(first[6], 'Success');
    assert.equal(first[7], 'alpha');
    assert.equal(first[8], msg.message, 'the message with its quotes, separator and line break');
    const fmt = (iso) => iso.replace('T', ' ').replace('+00:00', '');
    assert.equal(first[1], fmt(msg.creationDatetime));
    assert.equal(first[9], fmt(msg.sentAt));
    assert.equal(first[10], fmt(msg.deliveredAt));
    assert.deepEqual(all.doc.tags, [{ key: 'serviceName', value: sn }, { key: 'wayType', value: 'outgoing' }]);
    assert.match(all.doc.name, /^sms-.*-outgoing-\d{4}-\d\d-\d\d\.csv$/);
    assert.ok((await client.requestPromised('GET', '/me/document')).includes(all.id));

    const beta = await exportCsv(client, sn, { wayType: 'outgoing', tag: 'beta' });
    assert.deepEqual(beta.rows.slice(1).map((r) => Number(r[0])), b.ids);
    const none = await exportCsv(client, sn, { wayType: 'outgoing', tag: 'nope' });
    assert.equal(none.text, OUT_HEADER + '\r\n');
    const future = new Date(Date.now() + 3600000).toISOString();
    const later = await exportCsv(client, sn, { wayType: 'outgoing', 'creationDatetime.from': future });
    assert.equal(later.rows.length, 1);
    const window = await exportCsv(client, sn, {
      wayType: 'outgoing', 'creationDatetime.from': t0, 'creationDatetime.to': future,
    });
    assert.equal(window.rows.length, 1 + ids.length);
    const before = await exportCsv(client, sn, { wayType: 'outgoing', 'creationDatetime.to': t0 });
    assert.equal(before.rows.length, 1);
  });

  test('batchID: only that batch\'s SMS; an unknown batch none', async () => {
    const batch = await client.requestPromised('POST', `/sms/${sn}/batches`, {
      name: 'export', message: 'Batch for export', senderForResponse: true, noStop: true,
      to: ['+33612340011', '+33612340012'],
    });
    const inBatch = (await srv.sql(`SELECT m.id FROM messages m JOIN campaigns k ON
      k.send_id = m.send_id WHERE k.id = '${batch.id}' ORDER BY m.id`)).map((r) => r.id);
    assert.equal(inBatch.length, 2);
    const got = await exportCsv(client, sn, { wayType: 'outgoing', batchID: batch.id });
    assert.deepEqual(got.rows.slice(1).map((r) => Number(r[0])), inBatch);
    const unknown = await exportCsv(client, sn, {
      wayType: 'outgoing', batchID: '00000000-0000-4000-8000-000000000000',
    });
    assert.equal(unknown.rows.length, 1);
  });

  test('incoming: the replies received', async () => {
    const to = '+33612340906';
    const sent = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'RDV ?', receivers: [to], senderForResponse: true, noStopClause: true, tag: 'rdv',
    });
    let inc;
    await waitFor(async () => {
      inc = await client.requestPromised('GET', `/sms/${sn}/incoming`);
      return inc.length > 0;
    }, { what: 'the sim\'s reply', timeoutMs: 15000 });
    const one = await client.requestPromised('GET', `/sms/${sn}/incoming/${inc[0]}`);
    const got = await exportCsv(client, sn, { wayType: 'incoming' });
    assert.equal(got.text.split('\r\n')[0], 'id;date;sender;receiver;tag;message');
    assert.equal(got.rows.length, 1 + inc.length);
    const line = got.rows.find((r) => Number(r[0]) === inc[0]);
    assert.equal(line[2], to);
    assert.equal(line[4], 'rdv');
    assert.equal(line[5], one.message);
    assert.ok(sent.ids.length === 1);
    assert.equal((await exportCsv(client, sn, { wayType: 'incoming', tag: 'other' })).rows.length, 1);
  });

  test('an SMS user\'s document: only its SMS', async () => {
    for (const login of ['alice', 'bob']) {
      await client.requestPromised('POST', `/sms/${sn}/users`, { login, password: 'Export-pass-1' });
    }
    const mine = await client.requestPromised('POST', `/sms/${sn}/users/alice/jobs`, {
      message: 'From Alice', receivers: ['+33612340021', '+33612340022'], senderForResponse: true,
      noStopClause: true, tag: 'alice',
    });
    await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'From the service', receivers: ['+33612340023'], senderForResponse: true,
      noStopClause: true, tag: 'alice',
    });
    const userCsv = async (login, query) => {
      const id = await client.requestPromised('GET', `/sms/${sn}/users/${login}/document`, query);
      const doc = await client.requestPromised('GET', `/me/document/${id}`);
      return parseCsv((await download(doc.getUrl)).text);
    };
    const alice = await userCsv('alice', { wayType: 'outgoing' });
    assert.deepEqual(alice.slice(1).map((r) => Number(r[0])), mine.ids);
    assert.equal((await userCsv('alice', { wayType: 'outgoing', tag: 'other' })).length, 1);
    assert.equal((await userCsv('bob', { wayType: 'outgoing' })).length, 1, 'bob sent nothing');
    assert.equal((await userCsv('bob', { wayType: 'incoming' })).length, 1);
    const e = await sdkError(client.requestPromised('GET', `/sms/${sn}/users/nobody/document`, { wayType: 'outgoing' }));
    assert.equal(e.error, 404);
  });

  test('errors', async () => {
    const q = (query) => srv.raw({ path: `/sms/${sn}/document`, query, keys });
    assertOvhError(await q({}), 400, { message: "Missing parameter 'wayType'" });
    assertOvhError(await q({ wayType: 'both' }), 400, { message: /wayType/ });
    assertOvhError(await q({ wayType: 'outgoing', 'creationDatetime.from': 'yesterday' }), 400,
      { message: /creationDatetime\.from/ });
    const other = srv.createAccount(uniq('export-other'), 10);
    const e = await sdkError(srv.sdk(other).requestPromised('GET', `/sms/${sn}/document`, { wayType: 'outgoing' }));
    assert.equal(e.error, 404);
  });

  test(`${BIG_ROWS} SMS exported and downloaded with peak RSS under 100 MB`, { timeout: 600000 }, async () => {
    const big = srv.createAccount(uniq('export-big'), 10);
    const [{ id: sid }] = srv.sql(`SELECT id FROM services WHERE name = '${big.serviceName}'`);
    const now = Date.now();
    // Every column a message needs; delivered, so the dispatcher leaves them. In statements of
    // STEP rows, each its own transaction, so that the server's own writes (heartbeat, claims)
    // never wait long for the lock on SQLite.
    const STEP = 50000;
    const insert = (lo, hi) => `INSERT INTO messages (service_id, send_id, created_ms, due_ms,
        state, dlr, ptt, sender, receiver, message, coding, length, parts, credits, priority,
        validity_min, differed_min, tag, sent_ms, delivered_ms)
      WITH RECURSIVE n(x) AS (SELECT ${lo} UNION ALL SELECT x + 1 FROM n WHERE x < ${hi})
      SELECT ${sid}, 0, ${now} + x, ${now} + x, 5, 1, 0, 'BIGCO', '+3361' || (1000000 + x),
        'Message number ' || x || '; "quoted"', 0, 40, 1, 1000, 1, 2880, 0, 'bulk',
        ${now} + x + 1000, ${now} + x + 2000 FROM n;`;
    const statements = [];
    for (let lo = 1; lo <= BIG_ROWS; lo += STEP) statements.push(insert(lo, Math.min(lo + STEP - 1, BIG_ROWS)));
    let t = Date.now();
    if (DB_KIND === 'sqlite') {
      const r = spawnSync('sqlite3', ['-cmd', '.timeout 30000', path.join(srv.dataDir, 'smsgate.db')],
        { input: statements.join('\n'), encoding: 'utf8', timeout: 120000 });
      assert.equal(r.status, 0, r.stderr);
    } else {
      for (const st of statements) await psqlAsync(st, databaseConninfo(srv.database));
    }
    const insertMs = Date.now() - t;
    const pid = srv.proc.pid;
    const rssBefore = vmHWMkB(pid);
    const bc = srv.sdk(big);
    t = Date.now();
    const id = await bc.requestPromised('GET', `/sms/${big.serviceName}/document`, { wayType: 'outgoing' });
    const exportMs = Date.now() - t;
    const doc = await bc.requestPromised('GET', `/me/document/${id}`);
    // The download, read as it comes, keeping only counts and a few lines.
    t = Date.now();
    const got = await new Promise((resolve, reject) => {
      get(doc.getUrl, { agent: false }, (res) => {
        let bytes = 0, lines = 0, tail = '', head = '', last = '', bad = 0, prev = 0;
        res.setEncoding('utf8');
        res.on('data', (s) => {
          bytes += Buffer.byteLength(s);
          const parts = (tail + s).split('\r\n');
          tail = parts.pop();
          for (const l of parts) {
            lines++;
            if (lines === 1) { head = l; continue; }
            const idv = Number(l.slice(0, l.indexOf(';')));
            if (!(idv > prev)) bad++;
            prev = idv;
            last = l;
          }
        });
        res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'],
          bytes, lines, head, last, bad, tail }));
        res.on('error', reject);
      }).on('error', reject);
    });
    const downloadMs = Date.now() - t;
    const rssAfter = vmHWMkB(pid);
    console.log(`# ${BIG_ROWS} rows (${DB_KIND}): insert ${insertMs} ms, export ${exportMs} ms, `
      + `download ${downloadMs} ms, ${got.bytes} bytes; VmHWM ${rssBefore} kB before, ${rssAfter} kB after`);
    assert.equal(got.status, 200);
    assert.equal(Number(got.length), doc.size);
    assert.equal(got.bytes, doc.size);
    assert.equal(got.tail, '');
    assert.equal(got.head, OUT_HEADER);
    assert.equal(got.lines, BIG_ROWS + 1, 'one line per SMS');
    assert.equal(got.bad, 0, 'ids in increasing order, none twice');
    assert.match(got.last, new RegExp(`;\\+3361${1000000 + BIG_ROWS};0;1;Success;bulk;"Message number ${BIG_ROWS}; ""quoted""";`));
    assert.ok(rssAfter < RSS_LIMIT_KB, `peak RSS ${rssAfter} kB >= ${RSS_LIMIT_KB} kB`);

    // A client leaving half-way: the server stops reading the document and serves on.
    const cut = await new Promise((resolve, reject) => {
      const req = get(doc.getUrl, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (s) => {
          bytes += s.length;
          if (bytes > 1000000) { req.destroy(); resolve(bytes); }
        });
        res.on('error', () => {});
      });
      req.on('error', () => {});
      setTimeout(() => reject(new Error('no data')), 30000);
    });
    assert.ok(cut < doc.size);
    // HEAD: the length, no body.
    const head = await new Promise((resolve, reject) => {
      const u = new URL(doc.getUrl);
      const req = (u.protocol === 'https:' ? https : http).request(u, { method: 'HEAD', agent: false }, (res) => {
        let n = 0;
        res.on('data', (s) => { n += s.length; });
        res.on('end', () => resolve({ status: res.statusCode, length: res.headers['content-length'], n }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(head, { status: 200, length: String(doc.size), n: 0 });
    assert.equal((await bc.requestPromised('GET', `/me/document/${id}`)).size, doc.size);
  });
});
