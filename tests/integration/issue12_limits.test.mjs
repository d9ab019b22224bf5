// issue12_limits.test.mjs - points 5, 6, 8, 9 and 11 of issue 12 ("Hardening"), each reproduced
// as the issue writes it:
//   9. with --callback-allow-private, a redirect to 169.254.169.254 (cloud metadata) is refused
//      before any connection, for status callbacks and CSV downloads, with a clear reason;
//   8. a receivers slot's CSV export keeps its valid rows when one row had an invalid byte;
//   6. every file smsgated creates in its data directory is 0600 whatever the directory's mode,
//      and a data directory open to other users is warned about at start;
//   5. free-text fields have a maximum length (docs/api.md, "Field limits"): 400 naming the
//      field;
//  11. one SMS per distinct number in one request; a re-declared refused sender keeps its
//      history; clear messages for an out-of-range admin credit and a non-integer quantity.
//
// No traffic leaves loopback: a forbidden address is refused before connect(). The link-local
// case [fe80::1] comes first in each test, so that against an older smsgated (which would
// connect) the test fails on it, where connect() fails at once without sending anything
// (a link-local destination without a scope), before ever reaching 169.254.169.254.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from './lib/test.mjs';

import { DB_KIND, Server, sdkError, sleep, startServer, uniq, waitFor } from './lib/harness.mjs';

const FAST_RETRY = ['--callback-backoff-ms', '100', '--callback-backoff-max-ms', '300'];

// An HTTP server on loopback: GET /to?u=URL answers 302 to URL; /list.csv a small CSV; counts
// every request.
class Redirector {
  constructor() {
    this.hits = [];
    this.files = new Map();
  }

  async start() {
    this.srv = http.createServer((req, res) => {
      this.hits.push(req.url);
      const u = new URL(req.url, 'http://x');
      if (u.pathname === '/to') {
        res.writeHead(302, { Location: u.searchParams.get('u'), 'Content-Type': 'text/plain' });
        res.end('moved');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      res.end(this.files.get(u.pathname) ?? 'number;name\n+33612345678;Ana\n');
    });
    await new Promise((r) => this.srv.listen(0, '127.0.0.1', r));
    this.port = this.srv.address().port;
    return this;
  }

  put(p, body) {
    this.files.set(p, body);
    return `http://127.0.0.1:${this.port}${p}`;
  }

  to(target) { return `http://127.0.0.1:${this.port}/to?u=${encodeURIComponent(target)}`; }

  async close() {
    this.srv.closeAllConnections();
    await new Promise((r) => this.srv.close(r));
  }
}

describe('issue 12 point 9: link-local and metadata addresses, even with --callback-allow-private', () => {
  let srv, rd;
  before(async () => {
    srv = await startServer({ args: FAST_RETRY }); // the harness passes --callback-allow-private
    rd = await new Redirector().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await rd?.close();
    }
  });

  test('a status callback redirected to 169.254.169.254 is refused, with the reason, at once',
    { timeout: 30000 }, async () => {
      const targets = ['http://[fe80::1]/latest/meta-data/',
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/'];
      for (const target of targets) {
        const keys = srv.createAccount(uniq('meta'), 5);
        const sn = keys.serviceName;
        const client = srv.sdk(keys);
        await client.requestPromised('PUT', `/sms/${sn}`, { callBack: rd.to(target) });
        const t0 = Date.now();
        const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
          message: 'metadata', receivers: ['+33612345678'], senderForResponse: true,
          noStopClause: true,
        });
        assert.equal(rep.ids.length, 1);
        const [first] = await waitFor(() => {
          const l = srv.smsctlOk(['callbacks', 'list', sn, '--json']).json;
          return l.length && l[0].attempts >= 1 && l[0].lastError && l;
        }, { what: `the first attempt of the callback redirected to ${target}` });
        const host = new URL(target).hostname.replace(/^\[|\]$/g, '');
        assert.equal(first.lastError, `refused: ${host} is a link-local or cloud metadata `
          + 'address, never called (whatever callback-allow-private says)');
        assert.equal(first.lastStatus, null);
        assert.ok(Date.now() - t0 < 5000, `refused after ${Date.now() - t0} ms (no timeout)`);
      }
      // The redirector was called (the first hop is loopback, allowed here).
      assert.ok(rd.hits.filter((h) => h.startsWith('/to')).length >= 2);
    });

  test('a callBack on 169.254.169.254 itself is refused the same way', { timeout: 30000 }, async () => {
    for (const target of ['http://[fe80::1]/cb', 'http://169.254.169.254/cb']) {
      const keys = srv.createAccount(uniq('meta'), 5);
      const sn = keys.serviceName;
      const client = srv.sdk(keys);
      await client.requestPromised('PUT', `/sms/${sn}`, { callBack: target });
      await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: 'metadata', receivers: ['+33612345678'], senderForResponse: true, noStopClause: true,
      });
      const [first] = await waitFor(() => {
        const l = srv.smsctlOk(['callbacks', 'list', sn, '--json']).json;
        return l.length && l[0].attempts >= 1 && l[0].lastError && l;
      }, { what: `the first attempt of the callback to ${target}` });
      const host = new URL(target).hostname.replace(/^\[|\]$/g, '');
      assert.equal(first.lastError, `refused: ${host} is a link-local or cloud metadata `
        + 'address, never called (whatever callback-allow-private says)');
    }
  });

  test('a csvUrl or receiversDocumentUrl redirected to 169.254.169.254 is refused (400)',
    { timeout: 30000 }, async () => {
      const keys = srv.createAccount(uniq('csvmeta'), 5);
      const sn = keys.serviceName;
      const client = srv.sdk(keys);
      for (const target of ['http://[fe80::1]/list.csv', 'http://169.254.169.254/latest/user-data']) {
        const host = new URL(target).hostname.replace(/^\[|\]$/g, '');
        const re = new RegExp(`it leads to ${host.replace(/\./g, '\\.')}, a link-local or cloud `
          + 'metadata address, which this server never fetches');
        const t0 = Date.now();
        let e = await sdkError(client.requestPromised('POST', `/sms/${sn}/receivers`, {
          slotId: 1, description: 'x', autoUpdate: false, csvUrl: rd.to(target),
        }));
        assert.equal(e.error, 400);
        assert.match(e.message, /'csvUrl'/);
        assert.match(e.message, re);
        e = await sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`, {
          message: 'hi #name#', receiversDocumentUrl: rd.to(target), senderForResponse: true,
          noStopClause: true,
        }));
        assert.equal(e.error, 400);
        assert.match(e.message, /'receiversDocumentUrl'/);
        assert.match(e.message, re);
        assert.ok(Date.now() - t0 < 5000, `refused after ${Date.now() - t0} ms (no timeout)`);
      }
      // Loopback stays allowed with --callback-allow-private: the same redirector, to itself.
      const ok = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
        slotId: 2, description: 'x', autoUpdate: false, csvUrl: rd.to(`http://127.0.0.1:${rd.port}/list.csv`),
      });
      assert.equal(ok.validRecords, 1);
    });
});

describe('issue 12 point 8: the CSV export of a slot with an invalid byte in one row', () => {
  let srv, files;
  before(async () => {
    srv = await startServer();
    files = await new Redirector().start();
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      await files?.close();
    }
  });

  test('the export keeps every valid row; the invalid one is reported as on loading', async () => {
    const keys = srv.createAccount(uniq('csvx'), 5);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const csv = Buffer.concat([
      Buffer.from('number;name;city\n+33612345601;Ana;Lyon\n+33612345602;Bo'),
      Buffer.from([0xff]),
      Buffer.from('b;Nice\n+33612345603;Zoé;Paris\n+3361234'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(';Eve;Metz\n'),
    ]);
    const slot = await client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 1, description: 'one bad byte', autoUpdate: false, csvUrl: files.put('/bad.csv', csv),
    });
    assert.equal(slot.records, 4);
    assert.equal(slot.validRecords, 2);
    assert.equal(slot.invalidRecords, 2);
    const text = await client.requestPromised('GET', `/sms/${sn}/receivers/1/csv`);
    assert.equal(text, 'number;name;city\n+33612345601;Ana;Lyon\n+33612345602;Bo\uFFFDb;Nice\n'
      + '+33612345603;Zoé;Paris\n+3361234\uFFFD(;Eve;Metz\n');
    assert.deepEqual(slot.invalidRows, [
      { line: 3, receiver: '+33612345602', reason: 'a value is not valid UTF-8 text' },
      { line: 5, receiver: '+3361234\uFFFD(', reason: 'a value is not valid UTF-8 text' },
    ]);
    assert.deepEqual((await client.requestPromised('GET', `/sms/${sn}/receivers/1`)).invalidRows,
      slot.invalidRows);
    // A send from the slot reports both refused rows too.
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'Hi #name#', receiversSlotId: 1, senderForResponse: true, noStopClause: true,
    });
    assert.equal(rep.validReceiversCount, 2);
    assert.deepEqual(rep.invalidReceivers, ['+33612345602', '+3361234\uFFFD(']);
  });
});

// Every regular file under dir, with its mode (permission bits), relative path -> mode.
function modes(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[path.relative(dir, p)] = fs.statSync(p).mode & 0o777;
    }
  };
  walk(dir);
  return out;
}

describe('issue 12 point 6: data files are 0600 whatever the directory mode', () => {
  let srv;
  after(async () => { await srv?.finish(); });

  test('in a data directory created 0755, under umask 0, every file is 0600; a warning at start',
    { timeout: 60000 }, async () => {
      srv = new Server({ args: ['--tls-cert=', '--tls-key='] }); // a generated TLS key too
      fs.mkdirSync(srv.dataDir, { recursive: true });
      fs.chmodSync(srv.dataDir, 0o755);
      srv.expectLog(/WARN .*The data directory '.*' is readable by other users \(mode 0755\)/);
      const old = process.umask(0); // the child inherits it: SQLite would create 0666 files
      try {
        await srv.start();
      } finally {
        process.umask(old);
      }
      const keys = srv.createAccount(uniq('modes'), 10);
      for (let i = 0; i < 3; i++) {
        const r = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys,
          body: { message: `modes ${i}`, receivers: ['+33612345678'], senderForResponse: true,
            noStopClause: true } });
        assert.equal(r.status, 200, r.text);
      }
      await sleep(300); // receipts written
      const m = modes(srv.dataDir);
      // On PostgreSQL the data dir holds no database (finish() checks that smsgate.db is absent).
      const dbFiles = DB_KIND === 'sqlite' ? ['smsgate.db', 'smsgate.db-wal', 'smsgate.db-shm'] : [];
      for (const f of [...dbFiles, 'admin.token', 'tls/key.pem']) assert.ok(f in m, `${f} exists (${JSON.stringify(m)})`);
      for (const [f, mode] of Object.entries(m)) {
        // smsgated.url holds no secret (where the server listens) and tls/cert.pem is public.
        const want = f === 'smsgated.url' || f === 'tls/cert.pem' ? 0o644 : 0o600;
        assert.equal(mode.toString(8), want.toString(8), `mode of ${f}`);
      }
      assert.equal(srv.logLines().filter((l) => /The data directory/.test(l)).length, 1);

      // Files left readable by an older version are made private at the next start.
      await srv.stop();
      for (const f of ['smsgate.db', 'smsgate.db-wal', 'smsgate.db-shm', 'admin.token'])
        if (fs.existsSync(path.join(srv.dataDir, f))) fs.chmodSync(path.join(srv.dataDir, f), 0o644);
      fs.chmodSync(srv.dataDir, 0o700);
      await srv.restart();
      const r = await srv.raw({ method: 'POST', path: `/sms/${keys.serviceName}/jobs`, keys,
        body: { message: 'after', receivers: ['+33612345678'], senderForResponse: true,
          noStopClause: true } });
      assert.equal(r.status, 200, r.text);
      for (const [f, mode] of Object.entries(modes(srv.dataDir))) {
        if (f === 'smsgated.url' || f === 'tls/cert.pem') continue;
        assert.equal(mode.toString(8), '600', `mode of ${f} after a restart`);
      }
      assert.equal(srv.logLines().filter((l) => /The data directory/.test(l)).length, 1,
        'no warning for a 0700 directory');
    });
});

describe('issue 12 point 11: smaller points', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.finish(); });

  test('(a) one receiver written in three forms is sent and charged once', async () => {
    const keys = srv.createAccount(uniq('dup'), 10);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'once', senderForResponse: true, noStopClause: true,
      receivers: ['+33612345678', '0612345678', '0033 6 12 34 56 78', '+33612345679', '12'],
    });
    assert.deepEqual(rep.validReceivers, ['+33612345678', '+33612345679']);
    assert.equal(rep.ids.length, 2);
    assert.deepEqual(rep.invalidReceivers, ['12']);
    assert.equal(rep.totalCreditsRemoved, 2);
    assert.equal(rep.creditsLeft, 8);
    const ledger = srv.sql(`SELECT COUNT(*) AS n FROM messages m JOIN services s ON s.id = `
      + `m.service_id WHERE s.name = '${sn}' AND m.receiver = '+33612345678'`);
    assert.equal(ledger[0].n, 1, 'one SMS stored for the number');
  });

  test('(b) a refused sender deleted and declared again waits for moderation; the operator sees the refusal', async () => {
    const keys = srv.createAccount(uniq('refu'), 5);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const declare = () => client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'BANQUE', description: 'our bank', reason: 'we are a bank' });
    await declare();
    srv.smsctlOk(['sender', 'refuse', sn, 'BANQUE', '--comment', 'not your brand']);
    let s = await client.requestPromised('GET', `/sms/${sn}/senders/BANQUE`);
    assert.equal(s.status, 'refused');
    assert.equal(s.comment, 'not your brand');
    await client.requestPromised('DELETE', `/sms/${sn}/senders/BANQUE`);
    await declare();
    s = await client.requestPromised('GET', `/sms/${sn}/senders/BANQUE`);
    assert.equal(s.status, 'waitingValidation', 'back to moderation, not enabled');
    // It cannot send meanwhile.
    const e = await sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'x', sender: 'BANQUE', receivers: ['+33612345678'], noStopClause: true }));
    assert.equal(e.error, 403);
    // The operator sees the earlier refusal and its comment.
    const list = srv.smsctlOk(['sender', 'list', sn]).stdout;
    assert.match(list, /^SENDER +STATUS +COMMENT +REFUSED BEFORE\n/);
    assert.match(list, /\nBANQUE +waitingValidation +- +1x, last \d{4}-\d\d-\d\d: not your brand\n/);
    const [j] = srv.smsctlOk(['--json', 'sender', 'list', sn]).json;
    assert.equal(j.sender, 'BANQUE');
    assert.equal(j.status, 'waitingValidation');
    assert.deepEqual(j.history.map((h) => [h.status, h.comment]), [
      ['waitingValidation', null], ['refused', 'not your brand'], ['deleted', null],
      ['waitingValidation', null]]);
    assert.equal(j.history[0].reason, 'we are a bank');
    assert.equal(j.refusedBefore.length, 1);
    assert.equal(j.refusedBefore[0].comment, 'not your brand');
    // Deleted again, it is still listed for the operator.
    await client.requestPromised('DELETE', `/sms/${sn}/senders/BANQUE`);
    const [gone] = srv.smsctlOk(['--json', 'sender', 'list', sn]).json;
    assert.equal(gone.status, 'deleted');
    assert.equal(gone.refusedBefore.length, 1);
  });

  test('(c) an admin credit of 1e12 says it is out of range, with the bound', async () => {
    const keys = srv.createAccount(uniq('big'), 1);
    const r = srv.smsctl(['service', 'credit', keys.serviceName, '1e12']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Invalid value for parameter 'credits': 1e\+12 is out of range; an adjustment must be less than 1000000000000 credits either way/);
    assert.doesNotMatch(r.stderr, /non-zero/);
    const z = srv.smsctl(['service', 'credit', keys.serviceName, '0.0001']);
    assert.match(z.stderr, /a non-zero number \(at least 0\.001 credit\) is expected/);
  });

  test('(d) an order quantity of true names the type expected', async () => {
    const keys = srv.createAccount(uniq('qty'), 1);
    const client = srv.sdk(keys);
    for (const [quantity, what] of [[true, 'a boolean'], [[100], 'an array'], [{ n: 100 }, 'an object']]) {
      const e = await sdkError(client.requestPromised('POST', `/order/sms/${keys.serviceName}/credits`,
        { quantity }));
      assert.equal(e.error, 400);
      assert.equal(e.message, "Invalid value for parameter 'quantity': an integer is expected (a "
        + 'pack size: one of 100, 200, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, '
        + `1000000), not ${what}`);
    }
  });
});

describe('issue 12 point 5: free-text fields have a maximum length', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.finish(); });

  const tooLong = (name, max) => new RegExp(`^Invalid value for parameter '${name.replace(/\./g, '\\.')}': `
    + `too long, at most ${max} characters are allowed$`);

  test('PUT /sms/{sn} with a 2,000,000-character description, 100 KB templates: 400, nothing stored',
    { timeout: 60000 }, async () => {
      const keys = srv.createAccount(uniq('big'), 5);
      const sn = keys.serviceName;
      const client = srv.sdk(keys);
      const before = await client.requestPromised('GET', `/sms/${sn}`);
      let e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`, { description: 'd'.repeat(2000000) }));
      assert.equal(e.error, 400);
      assert.match(e.message, tooLong('description', 255));
      e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`,
        { templates: { smsBody: 'x'.repeat(100 * 1024) } }));
      assert.equal(e.error, 400);
      assert.match(e.message, tooLong('templates.smsBody', 1600));
      e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`,
        { templates: { emailBody: 'x'.repeat(100 * 1024) } }));
      assert.match(e.message, tooLong('templates.emailBody', 10000));
      e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`,
        { templates: { junk: 'x'.repeat(100 * 1024) } }));
      assert.equal(e.message, "Invalid value for parameter 'templates': unknown key 'junk'");
      e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`,
        { smsResponse: { text: 'é'.repeat(1601) } }));
      assert.match(e.message, tooLong('smsResponse.text', 1600));
      e = await sdkError(client.requestPromised('PUT', `/sms/${sn}`,
        { callBack: `https://example.com/${'p'.repeat(2100)}` }));
      assert.match(e.message, tooLong('callBack', 2048));
      assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}`), before, 'nothing stored');
      // At the limit, counted in characters (é is two bytes): accepted and stored.
      await client.requestPromised('PUT', `/sms/${sn}`, { description: 'é'.repeat(255),
        templates: { smsBody: 'b'.repeat(1600), customizedSmsMode: true } });
      const after = await client.requestPromised('GET', `/sms/${sn}`);
      assert.equal(after.description, 'é'.repeat(255));
      assert.equal(after.templates.smsBody, 'b'.repeat(1600));
      assert.equal(after.templates.customizedSmsMode, true);
    });

  test('a sender reason or description of 2 MB: 400 naming the field', { timeout: 60000 }, async () => {
    const keys = srv.createAccount(uniq('bigs'), 5);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    const big = 'r'.repeat(2 * 1024 * 1024);
    let e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'SHOP', reason: big }));
    assert.equal(e.error, 400);
    assert.match(e.message, tooLong('reason', 1024));
    e = await sdkError(client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'SHOP', reason: 'ok', description: big }));
    assert.match(e.message, tooLong('description', 255));
    assert.deepEqual(await client.requestPromised('GET', `/sms/${sn}/senders`), []);
    await client.requestPromised('POST', `/sms/${sn}/senders`,
      { sender: 'SHOP', reason: 'r'.repeat(1024), description: 'd'.repeat(255) });
    e = await sdkError(client.requestPromised('PUT', `/sms/${sn}/senders/SHOP`, { description: big }));
    assert.match(e.message, tooLong('description', 255));
    const s = await client.requestPromised('GET', `/sms/${sn}/senders/SHOP`);
    assert.equal(s.description, 'd'.repeat(255));
    // The operator's comment too.
    const r = srv.smsctl(['sender', 'refuse', sn, 'SHOP', '--comment', 'c'.repeat(1025)]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /'comment': too long, at most 1024 characters/);
  });

  test('other stored texts: slots, tags, documents, batches, consumer keys', { timeout: 60000 }, async () => {
    const keys = srv.createAccount(uniq('bigo'), 5);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    let e = await sdkError(client.requestPromised('POST', `/sms/${sn}/receivers`, {
      slotId: 1, description: 'x'.repeat(256), autoUpdate: false, csvUrl: 'http://127.0.0.1:9/x.csv' }));
    assert.match(e.message, tooLong('description', 255));
    e = await sdkError(client.requestPromised('POST', `/sms/${sn}/jobs`, {
      message: 'x', receivers: ['+33612345678'], senderForResponse: true, tag: 't'.repeat(129) }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'tag'/);
    e = await sdkError(client.requestPromised('POST', '/me/document',
      { name: 'x.csv', tags: [{ key: 'k', value: 'v'.repeat(256) }] }));
    assert.match(e.message, tooLong('tags.value', 255));
    e = await sdkError(client.requestPromised('POST', `/sms/${sn}/batches`,
      { message: 'x', name: 'n'.repeat(256), to: ['+33612345678'], senderForResponse: true }));
    assert.match(e.message, tooLong('name', 255));
    e = await sdkError(client.requestPromised('POST', `/sms/${sn}/batches`,
      { message: 'x', to: ['+33612345678', '1'.repeat(65)], senderForResponse: true }));
    assert.match(e.message, tooLong('to', 64));
    const appOnly = srv.sdk({ appKey: keys.appKey, appSecret: keys.appSecret });
    e = await sdkError(appOnly.requestPromised('POST', '/auth/credential',
      { accessRules: [{ method: 'GET', path: `/${'p'.repeat(600)}` }] }));
    assert.match(e.message, tooLong('accessRules.path', 512));
    e = await sdkError(appOnly.requestPromised('POST', '/auth/credential',
      { accessRules: Array.from({ length: 257 }, () => ({ method: 'GET', path: '/sms' })) }));
    assert.equal(e.message, "Invalid value for parameter 'accessRules': at most 256 rules are allowed");
    e = await sdkError(appOnly.requestPromised('POST', '/auth/credential',
      { accessRules: [{ method: 'GET', path: '/sms' }], redirection: `https://e.com/${'r'.repeat(2048)}` }));
    assert.match(e.message, tooLong('redirection', 2048));
  });
});
