// campaign.test.mjs - campaigns (issue 6, docs/campaigns.md) through the OVH Node SDK:
//   * OVH's own example: a 3-row CSV (number, civility, name, age) uploaded to /me/document,
//     loaded into a receivers slot, one templated job -> three rendered SMS found by tag and
//     delivered by the sim;
//   * CSV files as users write them (',' or ';', quotes, BOM, CRLF, national numbers, a
//     "Number" column anywhere, no header), invalid and duplicate rows reported, never dropped;
//   * receiversDocumentUrl, autoUpdate, /csv, slot lifecycle and every parameter error;
//   * an unknown #column# and a lack of credits refuse the campaign as a whole;
//   * batches: to[] and slotID, statistics, deferred + cancel with refund, delete;
//   * fairness: a priority "high" SMS sent while a campaign of 10,000 is being dispatched is
//     submitted within a second;
//   * smsctl campaign status TAG.
// The 200,000-row campaign is campaign_scale.test.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { after, before, describe, test } from './lib/test.mjs';

import { DB_KIND, SMSCTL, sdkError, sleep, startServer, uniq, waitFor } from './lib/harness.mjs';

// An HTTP server on loopback serving CSV files by path; /slow/... answers after a delay.
class CsvServer {
  constructor() {
    this.files = new Map();
    this.hits = [];
  }

  async start() {
    this.srv = http.createServer((req, res) => {
      this.hits.push(req.url);
      const body = this.files.get(req.url);
      if (body === undefined) {
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('no such file');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      res.end(body);
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }

  put(path, body) {
    this.files.set(path, body);
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close() {
    this.srv.closeAllConnections();
    await new Promise((r) => this.srv.close(r));
  }
}

// A plain PUT of a body to a URL (the document's putUrl), like any HTTP client would.
function put(url, body) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: 'PUT', headers: { 'Content-Type': 'text/csv',
      'Content-Length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(url) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    mod.get(u, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    }).on('error', reject);
  });
}

const OVH_CSV = 'number;civility;name;age\n'
  + '+33601020304;Mr;Dupont;47\n'
  + '+33601020305;Mrs;Durand;32\n'
  + '+33601020306;Ms;Martin;25\n';
const OVH_MESSAGE = 'Hello, #civility# #name#. You are #age# years old.';

async function outgoingByTag(client, sn, tag, n) {
  let ids = [];
  await waitFor(async () => {
    ids = await client.requestPromised('GET', `/sms/${sn}/outgoing`, { tag });
    return ids.length >= n;
  }, { what: `${n} SMS tagged ${tag}`, timeoutMs: 20000 });
  return ids;
}

async function delivered(client, sn, ids) {
  const all = [];
  for (const id of ids) {
    let m;
    await waitFor(async () => {
      m = await client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`);
      return m.deliveryReceipt === 1;
    }, { what: `SMS ${id} delivered`, timeoutMs: 20000 });
    all.push(m);
  }
  return all;
}

describe('campaigns', () => {
  let srv, files;
  before(async () => {
    srv = await startServer();
    files = await new CsvServer().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await files?.close();
    }
  });

  test("OVH's example: document upload, slot, templated job, found by tag, delivered", async () => {
    const keys = srv.createAccount(uniq('ovh'), 10);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const doc = await client.requestPromised('POST', '/me/document', { name: 'recipients.csv', tags: [] });
    assert.match(doc.id, /^[0-9a-f-]{36}$/);
    assert.equal(doc.size, 0);
    assert.match(doc.putUrl, /^https:\/\/127\.0\.0\.1:\d+\/1\.0\/me\/document\//);
    const up = await put(doc.putUrl, OVH_CSV);
    assert.equal(up.status, 200, up.text);
    assert.equal((await client.requestPromised('GET', `/me/document/${doc.id}`)).size, OVH_CSV.length);
    assert.deepEqual(await client.requestPromised('GET', '/me/document'), [doc.id]);
    assert.equal((await get(doc.getUrl)).text, OVH_CSV);

    const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      autoUpdate: false, description: 'OVH example', documentId: doc.id, slotId: 1,
    });
    assert.equal(slot.slotId, 1);
    assert.equal(slot.records, 3);
    assert.equal(slot.description, 'OVH example');
    assert.equal(slot.autoUpdate, false);
    assert.equal(slot.canAutoUpdate, false);
    assert.deepEqual(slot.columns, ['number', 'civility', 'name', 'age']);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/receivers`), [1]);

    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: OVH_MESSAGE, receiversSlotId: '1', senderForResponse: true, noStopClause: true,
      tag: 'ovh-example',
    });
    assert.equal(rep.totalCreditsRemoved, 3);
    assert.deepEqual(rep.ids, [], 'ids are not returned for a slot, as OVH');
    assert.deepEqual(rep.invalidReceivers, []);
    assert.equal(rep.validReceiversCount, 3);
    assert.equal(rep.tag, 'ovh-example');
    assert.equal(rep.creditsLeft, 7);

    const ids = await outgoingByTag(client, sn, 'ovh-example', 3);
    assert.equal(ids.length, 3);
    const sms = await delivered(client, sn, ids);
    const texts = sms.map((m) => m.message).sort();
    assert.deepEqual(texts, [
      'Hello, Mr Dupont. You are 47 years old.',
      'Hello, Mrs Durand. You are 32 years old.',
      'Hello, Ms Martin. You are 25 years old.',
    ]);
    const dupont = sms.find((m) => m.message.includes('Dupont'));
    assert.equal(dupont.receiver, '+33601020304');
    assert.equal(dupont.tag, 'ovh-example');
    assert.equal(dupont.credits, 1);
    assert.equal(dupont.priority, 'low', 'campaigns default to priority low');
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 7);

    // smsctl campaign status: plain line (not a terminal), --json, unknown tag, usage.
    const env = { OVH_APPLICATION_KEY: keys.appKey, OVH_APPLICATION_SECRET: keys.appSecret,
      OVH_CONSUMER_KEY: keys.consumerKey };
    let r = srv.smsctlOk(['campaign', 'status', '--service', sn, 'ovh-example'], { env });
    assert.equal(r.stdout, "tag 'ovh-example': 3 SMS, queued 0, sent 0, delivered 3, failed 0 "
      + '(100% final)\n');
    r = srv.smsctlOk(['campaign', 'status', '--service', sn, 'ovh-example', '--watch'], { env });
    assert.match(r.stdout, /delivered 3, failed 0 \(100% final\)\n$/, 'watch ends when all are final');
    // On a terminal (script(1) gives it one): a progress bar.
    const tty = spawnSync('script', ['-qec', `${SMSCTL} --data ${srv.dataDir} campaign status `
      + `--service ${sn} ovh-example`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(tty.status, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout, /ovh-example \[#{30}\] 100% {2}3 SMS {2}queued 0 {2}sent 0 {2}delivered 3 {2}failed 0/);
    r = srv.smsctlOk(['--json', 'campaign', 'status', '--service', sn, 'ovh-example'], { env });
    assert.equal(r.json.total, 3);
    assert.equal(r.json.delivered, 3);
    assert.equal(r.json.states.delivered, 3);
    assert.equal(r.json.credits, 3);
    r = srv.smsctl(['campaign', 'status', '--service', sn, 'no-such-tag'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no SMS of .* carries the tag 'no-such-tag'/);
    r = srv.smsctl(['campaign', 'status', 'ovh-example'], { env });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /needs --service/);
    r = srv.smsctl(['campaign', 'status', '--service', sn, 'x', '--interval', '0'], { env });
    assert.equal(r.status, 2);
    assert.match(srv.smsctlOk(['help', 'campaign']).stdout, /campaign status --service S TAG/);
  });

  test('CSV files as users write them; refused rows are reported, never dropped', async () => {
    const keys = srv.createAccount(uniq('csv'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const url = files.put('/users.csv', '\uFEFFName,"Number",City\r\n'
      + '"Dupont, Jean",0612345670,Paris\r\n'
      + 'Ana,+33 6 12 34 56 80,"Lyon"\r\n'
      + '\r\n'
      + 'Bob,0033612345690,Nice\r\n'
      + 'Zed,12,Nowhere\r\n'
      + 'Dup,06 12 34 56 70,Paris\r\n'
      + ',,\r\n');
    const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 2, description: 'users', autoUpdate: false, csvUrl: url,
    });
    assert.equal(slot.records, 6);
    assert.equal(slot.validRecords, 3);
    assert.equal(slot.invalidRecords, 3);
    assert.equal(slot.canAutoUpdate, true);
    assert.equal(slot.csvUrl, url);
    assert.deepEqual(slot.columns, ['Name', 'Number', 'City']);
    assert.deepEqual(slot.invalidRows, [
      { line: 6, receiver: '12', reason: 'not a valid phone number' },
      { line: 7, receiver: '06 12 34 56 70', reason: 'duplicate of line 2' },
      { line: 8, receiver: '', reason: 'no number' },
    ]);
    const text = await client.requestPromised('GET', `/sms/${sn}/receivers/2/csv`);
    assert.equal(text, 'Name,Number,City\n"Dupont, Jean",0612345670,Paris\n'
      + 'Ana,+33 6 12 34 56 80,Lyon\nBob,0033612345690,Nice\nZed,12,Nowhere\n'
      + 'Dup,06 12 34 56 70,Paris\n,,\n');

    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: '#name# from #CITY#', receiversSlotId: 2, senderForResponse: true,
      noStopClause: true, tag: 'users',
    });
    assert.equal(rep.validReceiversCount, 3);
    assert.equal(rep.invalidReceiversCount, 3);
    assert.deepEqual(rep.invalidReceivers, ['12', '06 12 34 56 70', '']);
    assert.equal(rep.invalidReceiversDetails[1].message, 'duplicate of line 2');
    assert.equal(rep.totalCreditsRemoved, 3);
    const sms = await delivered(client, sn, await outgoingByTag(client, sn, 'users', 3));
    assert.deepEqual(sms.map((m) => `${m.receiver} ${m.message}`).sort(), [
      '+33612345670 Dupont, Jean from Paris',
      '+33612345680 Ana from Lyon',
      '+33612345690 Bob from Nice',
    ]);

    // No header: the first row is a number; columns are named by position.
    const bare = files.put('/bare.csv', '0612345610;Zoe\n0612345620;Max\n');
    const s2 = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 3, description: 'bare', autoUpdate: false, csvUrl: bare,
    });
    assert.equal(s2.records, 2);
    assert.deepEqual(s2.columns, ['1', '2']);
    const r2 = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Bye #2#', receiversSlotId: '3', senderForResponse: true, tag: 'bare',
    });
    assert.equal(r2.validReceiversCount, 2);
    const bye = await delivered(client, sn, await outgoingByTag(client, sn, 'bare', 2));
    assert.deepEqual(bye.map((m) => m.message).sort(), ['Bye Max\nSTOP 36184', 'Bye Zoe\nSTOP 36184']);
  });

  test('receiversDocumentUrl: loaded for one send, then dropped', async () => {
    const keys = srv.createAccount(uniq('url'), 10);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const url = files.put('/once.csv', 'number;name\n+33612340010;Ann\n+33612340020;Ben\n');
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hey #name#', receiversDocumentUrl: url, senderForResponse: true,
      noStopClause: true, tag: 'once',
    });
    assert.equal(rep.validReceiversCount, 2);
    assert.deepEqual(rep.ids, []);
    const sms = await delivered(client, sn, await outgoingByTag(client, sn, 'once', 2));
    assert.deepEqual(sms.map((m) => m.message).sort(), ['Hey Ann', 'Hey Ben']);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/receivers`), [],
      'no slot is created');
    const [svc] = srv.sql(`SELECT id FROM services WHERE name = '${sn}'`);
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM receiver_lists WHERE service_id = `
      + `${svc.id}`)[0].n === 0, { what: 'the list to be dropped and purged' });
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM receiver_rows WHERE list_id NOT IN `
      + '(SELECT id FROM receiver_lists)')[0].n, 0, 'its rows are gone too');
  });

  test('autoUpdate downloads the csvUrl again before each send', async () => {
    const keys = srv.createAccount(uniq('auto'), 10);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const url = files.put('/auto.csv', 'number\n+33612341010\n');
    const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 4, description: 'auto', autoUpdate: true, csvUrl: url,
    });
    assert.equal(slot.records, 1);
    assert.equal(slot.autoUpdate, true);
    files.put('/auto.csv', 'number\n+33612341010\n+33612341020\n+33612341030\n');
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Fresh list', receiversSlotId: '4', senderForResponse: true, tag: 'auto',
    });
    assert.equal(rep.validReceiversCount, 3);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/receivers/4`)).records, 3);
    // Without autoUpdate the stored list is used as it is.
    assert.equal(await client.requestPromised('PUT', `/sms/${sn}/receivers/4`,
      { autoUpdate: false, description: 'frozen' }), null);
    files.put('/auto.csv', 'number\n+33612341010\n');
    const rep2 = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Same list', receiversSlotId: '4', senderForResponse: true, tag: 'auto2',
    });
    assert.equal(rep2.validReceiversCount, 3);
    const got = await client.requestPromised('GET', `/sms/${sn}/receivers/4`);
    assert.equal(got.description, 'frozen');
    assert.equal(got.autoUpdate, false);
  });

  test('slot lifecycle and parameter errors name the field', async () => {
    const keys = srv.createAccount(uniq('err'), 10);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const ok = files.put('/ok.csv', 'number\n+33612342010\n');
    const post = (body) => sdkError(client.requestPromised('POST', `/sms/${sn}/receivers`, body));
    const base = { slotId: 1, description: 'd', autoUpdate: false, csvUrl: ok };
    const cases = [
      [{ ...base, slotId: undefined }, 400, /'slotId'/],
      [{ ...base, slotId: 10 }, 400, /'slotId'.*10 is outside 1\.\.9/],
      [{ ...base, description: undefined }, 400, /'description'/],
      [{ ...base, autoUpdate: undefined }, 400, /'autoUpdate'/],
      [{ ...base, csvUrl: undefined }, 400, /'csvUrl' or 'documentId'/],
      [{ ...base, documentId: 'abc' }, 400, /only one of 'csvUrl' and 'documentId'/],
      [{ ...base, csvUrl: 'ftp://x/y.csv' }, 400, /'csvUrl': an absolute http/],
      [{ ...base, csvUrl: undefined, documentId: 'abc', autoUpdate: true }, 400, /'autoUpdate'/],
      [{ ...base, csvUrl: files.put('/none', undefined) + 'x' }, 400,
        /'csvUrl': the receivers could not be loaded: the server answered HTTP 404/],
      [{ ...base, csvUrl: files.put('/open.csv', 'number\n+33612342010\n"oops\n') }, 400,
        /'csvUrl'.*line 3: a quoted field is not closed/],
      [{ ...base, csvUrl: files.put('/empty.csv', 'number;name\n') }, 400,
        /'csvUrl'.*the file has no receiver rows/],
      [{ ...base, csvUrl: undefined, documentId: 'nope' }, 400,
        /'documentId'.*no document 'nope' exists/],
    ];
    for (const [body, status, re] of cases) {
      const e = await post(body);
      assert.equal(e.error, status, `${JSON.stringify(body)}: ${e.message}`);
      assert.match(e.message, re, JSON.stringify(body));
    }
    const doc = await client.requestPromised('POST', '/me/document', { name: 'later.csv' });
    let e = await post({ ...base, csvUrl: undefined, documentId: doc.id });
    assert.equal(e.error, 400);
    assert.match(e.message, /'documentId'.*no content yet: PUT the file to its putUrl first/);
    assert.equal((await put(doc.putUrl.replace(/[0-9a-f]+$/, 'bad'), 'x')).status, 404,
      'a wrong upload token is refused');
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/receivers`), [],
      'nothing was stored by the failures');
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM receiver_lists l JOIN services s ON `
      + `s.id = l.service_id WHERE s.name = '${sn}' AND l.state = 1`)[0].n, 0);

    assert.equal((await client.requestPromised('POST', `/sms/${sn}/receivers`, base)).records, 1);
    e = await post(base);
    assert.equal(e.error, 409);
    assert.match(e.message, /slot 1 already exists/);
    e = await sdkError(client.requestPromised('PUT', `/sms/${sn}/receivers/1`, { autoUpdate: 'yes' }));
    assert.equal(e.error, 400);
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/receivers/5`))).error, 404);
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/receivers/abc`))).error, 404);

    // Templated jobs: the source, the slot and the message are checked.
    const job = (body) => sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hi', senderForResponse: true, ...body }));
    const jobCases = [
      [{ receiversSlotId: '7' }, 400, /'receiversSlotId': no receivers slot 7/],
      [{ receiversSlotId: 'x' }, 400, /'receiversSlotId': a slot number from 1 to 9/],
      [{ receiversSlotId: '1', receivers: ['+33612342010'] }, 400, /only one of 'receivers'/],
      [{ receiversDocumentUrl: 'nope' }, 400, /'receiversDocumentUrl': an absolute http/],
      [{ receiversDocumentUrl: ok.replace('ok.csv', 'missing.csv') }, 400,
        /'receiversDocumentUrl'.*HTTP 404/],
      [{ receiversSlotId: '1', message: 'Hi #firstname#' }, 400,
        /'message': the variable #firstname# names no column/],
      [{ receiversSlotId: '1', sender: 'NOPE', senderForResponse: false }, 403,
        /sender 'NOPE' does not exist/],
      [{ receiversSlotId: '1', priority: 'urgent' }, 400, /'priority'/],
    ];
    for (const [body, status, re] of jobCases) {
      const j = await job(body);
      assert.equal(j.error, status, `${JSON.stringify(body)}: ${j.message}`);
      assert.match(j.message, re, JSON.stringify(body));
    }
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 10,
      'nothing was billed');
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);

    assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/receivers/1`), null);
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/receivers/1`))).error, 404);
    assert.equal((await sdkError(client.requestPromised('DELETE', `/sms/${sn}/receivers/1`))).error, 404);
  });

  test('a campaign the credits do not cover is refused as a whole (402)', async () => {
    const keys = srv.createAccount(uniq('poor'), 2);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 1, description: 'three', autoUpdate: false,
      csvUrl: files.put('/three.csv', OVH_CSV),
    });
    const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: OVH_MESSAGE, receiversSlotId: '1', senderForResponse: true, tag: 'poor',
    }));
    assert.equal(e.error, 402);
    assert.match(e.message, /needs 3 credits and the account has 2; nothing was sent/);
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, 2);
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/jobs`), []);
    assert.equal(srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE tag = 'poor'`)[0].n, 0);
    assert.equal(srv.ledger(sn).length, 1, 'no debit in the ledger');
  });

  test('batches: to[] and slotID, statistics, deferred cancel with refund, delete', async () => {
    const keys = srv.createAccount(uniq('batch'), 20);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const b1 = await client.requestPromised('POST', `/sms/${sn}/batches`, {
      name: 'first', message: 'Batch hello', senderForResponse: true, noStop: true, tag: 'b1',
      to: ['+33612343010', '0612343020', 'bad'],
    });
    assert.match(b1.id, /^[0-9a-f-]{36}$/);
    assert.equal(b1.name, 'first');
    assert.equal(b1.totalRecords, 3);
    assert.equal(b1.processedRecords, 3);
    assert.equal(b1.estimatedCredits, 2);
    assert.deepEqual(b1.errors, [{ receiver: 'bad', message: 'not a valid phone number' }]);
    assert.deepEqual(b1.receivers, ['+33612343010', '0612343020', 'bad']);
    assert.equal(b1.slotID, null);
    assert.equal(b1.from, null);
    assert.ok(['PENDING', 'COMPLETED'].includes(b1.status), b1.status);
    let st;
    await waitFor(async () => {
      st = await client.requestPromised('GET', `/sms/${sn}/batches/${b1.id}/statistics`);
      return st.delivered === 2;
    }, { what: 'the batch delivered' });
    assert.deepEqual(st, { id: b1.id, estimatedCredits: 2, credits: 2, pending: 0, sent: 0,
      delivered: 2, failed: 0, stoplisted: 0, cancelled: 0 });
    const done1 = await client.requestPromised('GET', `/sms/${sn}/batches/${b1.id}`);
    assert.equal(done1.status, 'COMPLETED');
    assert.ok(done1.sentAt && done1.finishedAt && done1.startedAt, JSON.stringify(done1));
    assert.equal((await client.requestPromised('GET', `/sms/${sn}/outgoing`, { tag: 'b1' })).length, 2);

    // From a slot, with variables.
    await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 1, description: 'ovh', autoUpdate: false, csvUrl: files.put('/b.csv', OVH_CSV),
    });
    const b2 = await client.requestPromised('POST', `/sms/${sn}/batches`, {
      name: 'second', message: '#name#: #age#', senderForResponse: true, slotID: '1', noStop: true,
    });
    assert.equal(b2.slotID, '1');
    assert.equal(b2.totalRecords, 3);
    assert.equal(b2.estimatedCredits, 3);
    const list = await client.requestPromised('GET', `/sms/${sn}/batches`);
    assert.deepEqual(list.map((b) => b.id), [b1.id, b2.id]);
    const renamed = await client.requestPromised('PUT', `/sms/${sn}/batches/${b2.id}`, { name: 'renamed' });
    assert.equal(renamed.name, 'renamed');
    let e = await sdkError(client.requestPromised('POST', `/sms/${sn}/batches/${b1.id}/cancel`));
    assert.equal(e.error, 409, 'a batch already sent cannot be cancelled');

    // Deferred one hour: INSERTED, then cancelled and refunded at once.
    const before = (await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft;
    const later = new Date(Date.now() + 3600000).toISOString();
    const b3 = await client.requestPromised('POST', `/sms/${sn}/batches`, {
      name: 'later', message: 'Later', senderForResponse: true, deferred: later,
      to: ['+33612343030', '+33612343040'],
    });
    assert.equal(b3.status, 'INSERTED');
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before - 2);
    const c3 = await client.requestPromised('POST', `/sms/${sn}/batches/${b3.id}/cancel`);
    assert.equal(c3.status, 'CANCELED');
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before);
    const again = await client.requestPromised('POST', `/sms/${sn}/batches/${b3.id}/cancel`);
    assert.equal(again.status, 'CANCELED');
    assert.equal((await client.requestPromised('GET', `/sms/${sn}`)).creditsLeft, before,
      'no second refund');
    const s3 = await client.requestPromised('GET', `/sms/${sn}/batches/${b3.id}/statistics`);
    assert.equal(s3.cancelled, 2);
    assert.equal(s3.credits, 0);
    const ledger = srv.ledger(sn);
    assert.equal(ledger[ledger.length - 1].ref, `batch:${b3.id}`);
    assert.equal(ledger[ledger.length - 1].amount, 2);

    assert.equal(await client.requestPromised('DELETE', `/sms/${sn}/batches/${b2.id}`), null);
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/batches/${b2.id}`))).error, 404);
    assert.deepEqual((await client.requestPromised('GET', `/sms/${sn}/batches`)).map((b) => b.id),
      [b1.id, b3.id]);

    const bad = (body) => sdkError(client.requestPromised('POST', `/sms/${sn}/batches`, body));
    const cases = [
      [{ to: ['+33612343010'], senderForResponse: true }, /'message'/],
      [{ message: 'x', to: ['+33612343010'] }, /'from'/],
      [{ message: 'x', to: ['+33612343010'], from: 'Shop', senderForResponse: true }, /only one of 'from'/],
      [{ message: 'x', senderForResponse: true }, /'to' or 'slotID'/],
      [{ message: 'x', senderForResponse: true, to: ['+33612343010'], slotID: '1' }, /only one of 'to'/],
      [{ message: 'x', senderForResponse: true, to: [] }, /'to'/],
      [{ message: 'x', senderForResponse: true, slotID: 'z' }, /'slotID'/],
      [{ message: 'x', senderForResponse: true, slotID: '5' }, /'slotID': no receivers slot 5/],
      [{ message: 'x', senderForResponse: true, to: ['+33612343010'], deferred: 'soon' }, /'deferred'/],
      [{ message: '#nope#', senderForResponse: true, to: ['+33612343010'] }, /#nope#/],
    ];
    for (const [body, re] of cases) {
      e = await bad(body);
      assert.equal(e.error, 400, `${JSON.stringify(body)}: ${e.message}`);
      assert.match(e.message, re, JSON.stringify(body));
    }
    assert.equal((await sdkError(client.requestPromised('GET', `/sms/${sn}/batches/nope`))).error, 404);
  });

  test('fairness: a priority high SMS overtakes a campaign of 20,000 (a document) being sent', async () => {
    const N = 20000;
    const keys = srv.createAccount(uniq('fair'), N + 10);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const rows = ['number;n'];
    for (let i = 0; i < N; i++) rows.push(`+336${String(50000000 + i * 10).padStart(8, '0')};${i}`);
    // Uploaded as a document (700 KB: read back slice by slice).
    const doc = await client.requestPromised('POST', '/me/document', { name: 'fair.csv' });
    assert.equal((await put(doc.putUrl, rows.join('\n') + '\n')).status, 200);
    const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 1, description: 'fair', autoUpdate: false, documentId: doc.id,
    });
    assert.equal(slot.validRecords, N);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Promo #n#', receiversSlotId: '1', senderForResponse: true, noStopClause: true,
      tag: 'fair',
    });
    assert.equal(rep.validReceiversCount, N);
    const otp = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Code 1234', receivers: ['+33699999980'], priority: 'high',
      senderForResponse: true, noStopClause: true,
    });
    const id = otp.ids[0];
    await waitFor(async () => (await client.requestPromised('GET', `/sms/${sn}/outgoing/${id}`)).sentAt,
      { what: 'the high-priority SMS submitted', intervalMs: 20 });
    const [o] = srv.sql(`SELECT m.created_ms AS created, e.ts_ms AS submitted FROM messages m `
      + `JOIN events e ON e.message_id = m.id AND e.state = 3 WHERE m.id = ${id}`);
    // A second on SQLite; three on PostgreSQL, whose store is still several times slower per
    // message (docs/benchmarks.md, "PostgreSQL store": issue 13's targets not met yet).
    const bound = DB_KIND === 'postgres' ? 3000 : 1000;
    assert.ok(o.submitted - o.created <= bound, `submitted ${o.submitted - o.created} ms after creation`);
    await waitFor(async () => (await client.requestPromised('GET',
      `/sms/${sn}/tags/fair/statistics`)).pending === 0, { what: 'the campaign sent', timeoutMs: 60000 });
    const [behind] = srv.sql(`SELECT COUNT(*) AS n FROM events e JOIN messages m ON `
      + `m.id = e.message_id WHERE m.tag = 'fair' AND e.state = 3 AND e.ts_ms > ${o.submitted}`);
    assert.ok(behind.n > N / 2, `${behind.n} campaign SMS were submitted after it`);
  });
});

describe('campaigns: private addresses, stopping during a download', () => {
  let srv, hang;
  before(async () => {
    srv = await startServer({ args: ['--callback-allow-private=false'] });
    hang = http.createServer(() => { /* never answers */ });
    await new Promise((r) => hang.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    try {
      if (srv?.run && !srv.run.exit) await srv.finish();
    } finally {
      hang?.closeAllConnections();
      await new Promise((r) => hang ? hang.close(r) : r());
    }
  });

  test('a csvUrl on a private address is refused, like callbacks', async () => {
    const keys = srv.createAccount(uniq('priv'), 10);
    const client = srv.sdk(keys);
    const e = await sdkError(client.requestPromised('POST', `/sms/${keys.serviceName}/receivers`, {
      slotId: 1, description: 'x', autoUpdate: false, csvUrl: 'http://127.0.0.1:9/list.csv',
    }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'csvUrl'.*private address 127\.0\.0\.1, which this server does not fetch/);
  });

  test('SIGTERM during a download answers 503 at once and stops cleanly', async () => {
    await srv.stop();
    await srv.restart(['--callback-allow-private=true']);
    const keys = srv.createAccount(uniq('stop'), 10);
    const client = srv.sdk(keys);
    const pending = sdkError(client.requestPromised('POST', `/sms/${keys.serviceName}/receivers`, {
      slotId: 1, description: 'x', autoUpdate: false,
      csvUrl: `http://127.0.0.1:${hang.address().port}/never.csv`,
    }));
    await sleep(300);
    const stopped = srv.terminate();
    const e = await pending;
    assert.equal(e.error, 503);
    const { exit, ms } = await stopped;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(ms < 5000, `stopped after ${ms} ms`);
    assert.deepEqual(srv.unexpectedLogLines(), []);
  });
});
