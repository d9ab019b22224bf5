// metrics.test.mjs - Prometheus metrics and the health probes (issue 16 points 1 and 2,
// docs/metrics.md).
//
// /metrics on its own listener parses as Prometheus' text format (parse-prometheus-text-format
// from npm, plus the rules that parser does not check: a TYPE for every sample, cumulative
// buckets ending at +Inf = _count) and its counters move by what the test did: 20 sends through
// the OVH SDK -> smsgate_messages_accepted_total +20, 20 answers 200 of POST /sms/{}/jobs, 20
// submits accepted by the sim, 20 delivered, the credits the ledger debited, one callback
// counted per call the customer's server received, a 400 and a 404 under their codes.
// /healthz answers; /readyz is 200, then 503 naming the reason when no route can take traffic
// (the sim disabled) and 200 again; on PostgreSQL (a scratch cluster of the test's own),
// /readyz turns 503 when the database is stopped and 200 again once it is back, while /metrics
// keeps answering with smsgate_store_up 0, then 1. An SMPP route's receipt delays, in /metrics
// and as GET /admin/route-status' receiptLatency (null before the first receipt; then the count,
// and the median Prometheus would compute from the same buckets).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { after, before, describe, test } from './lib/test.mjs';
import { ROOT, httpRequest, scratchCluster, startServer, waitFor } from './lib/harness.mjs';
import { Smsc } from './lib/smsc.mjs';

const PGBIN = process.env.PGBIN || '/usr/lib/postgresql/15/bin';
const havePg = fs.existsSync(path.join(PGBIN, 'initdb'));

// The exposition, parsed and checked: the npm parser reads the families (names, HELP, TYPE,
// counters and gauges); the sample lines are also read here, because that parser (1.1.1) folds
// the series of a histogram with labels into one (it keeps neither their labels nor their
// _count), and it does not check that each sample has a TYPE or that buckets are cumulative.
// Returns {fams: Map name -> family, samples: [{name, labels, value}]}.
function parseExposition(text) {
  const families = parsePrometheus(text);
  assert.ok(families.length > 20, `only ${families.length} families`);
  const fams = new Map(families.map((f) => [f.name, f]));
  const typed = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.ok(!typed.has(m[1]), `family ${m[1]} declared twice`);
      typed.set(m[1], m[2]);
      assert.equal(fams.get(m[1])?.type, m[2].toUpperCase(), `the parser's type of ${m[1]}`);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(s, `not a sample line: ${line}`);
    assert.ok(!Number.isNaN(Number(s[3])) || /^[+-]Inf$|^NaN$/.test(s[3]), `value: ${line}`);
    const base = s[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(s[1]) || typed.get(base) === 'histogram', `no TYPE for ${line}`);
    const labels = {};
    for (const [, k, v] of (s[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[k] = v.replace(/\\(.)/g, (x, c) => (c === 'n' ? '\n' : c));
    samples.push({ name: s[1], labels, value: Number(s[3]) });
  }
  // histograms: per series, buckets cumulative, le="+Inf" equal to _count
  const series = new Map();
  for (const x of samples) {
    if (!x.name.endsWith('_bucket') || typed.get(x.name.slice(0, -7)) !== 'histogram') continue;
    const { le, ...rest } = x.labels;
    const key = x.name.slice(0, -7) + JSON.stringify(rest);
    if (!series.has(key)) series.set(key, { base: x.name.slice(0, -7), rest, buckets: [] });
    series.get(key).buckets.push([le === '+Inf' ? Infinity : Number(le), x.value]);
  }
  for (const { base, rest, buckets } of series.values()) {
    let prev = 0;
    for (const [le, n] of buckets) {
      assert.ok(n >= prev, `${base}: buckets not cumulative at le=${le}`);
      prev = n;
    }
    assert.equal(buckets[buckets.length - 1][0], Infinity, `${base}: the last bucket is +Inf`);
    const count = samples.find((y) => y.name === `${base}_count`
      && JSON.stringify(y.labels) === JSON.stringify(rest));
    assert.ok(count, `${base}: no _count for ${JSON.stringify(rest)}`);
    assert.equal(prev, count.value, `${base}: +Inf != _count`);
  }
  return { fams, samples, typed };
}

// The value of one sample (labels: a subset to match; a histogram: its _count), 0 when absent.
function value(ex, name, labels = {}) {
  assert.ok(ex.typed.has(name), `no family ${name}`);
  const want = ex.typed.get(name) === 'histogram' ? `${name}_count` : name;
  const m = ex.samples.find((x) => x.name === want
    && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return m ? m.value : 0;
}

async function scrape(srv) {
  const r = await srv.metrics();
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return parseExposition(r.text);
}

// A customer's callback server: counts the calls it answers 200.
function receiver() {
  const calls = [];
  const srv = http.createServer((req, res) => {
    calls.push(req.url);
    res.writeHead(200);
    res.end('ok');
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({
    calls, url: `http://127.0.0.1:${srv.address().port}/cb`,
    close: () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); }),
  })));
}

describe('/metrics', () => {
  let srv, rcv;
  before(async () => {
    srv = await startServer();
    rcv = await receiver();
  });
  after(async () => {
    try { await srv?.finish(); } finally { await rcv?.close(); }
  });

  test('parses as Prometheus text; 20 sends move the counters by 20', { timeout: 60000 }, async () => {
    const keys = srv.createAccount('metrics-20', 1000);
    const sn = keys.serviceName;
    const client = srv.sdk(keys);
    await client.requestPromised('PUT', `/sms/${sn}`, { callBack: rcv.url });
    const ledgerBefore = srv.ledger(sn).length;
    const before = await scrape(srv);
    assert.equal(value(before, 'smsgate_build_info'), 1);
    assert.equal(value(before, 'smsgate_store_up'), 1);
    assert.ok(value(before, 'process_resident_memory_bytes') > 1e6);
    assert.ok(value(before, 'process_open_fds') > 3);
    const jobs = { method: 'POST', route: '/sms/{}/jobs', code: '200' };

    const ids = [];
    for (let i = 0; i < 20; i++) {
      const rep = await client.requestPromised('POST', `/sms/${sn}/jobs`, {
        message: `metrics ${i}`, receivers: [`+3360${String(i).padStart(7, '0')}`],
        senderForResponse: true, noStopClause: true });
      ids.push(...rep.ids);
    }
    assert.equal(ids.length, 20);
    // a 400 (a field missing) and a path no route matches
    await assert.rejects(client.requestPromised('POST', `/sms/${sn}/jobs`, { receivers: ['+33600000001'] }),
                         (e) => e.error === 400);
    assert.equal((await httpRequest({ port: srv.port, target: '/1.0/no/such/thing' })).status, 404);

    // every SMS delivered by the sim, every callback received
    await waitFor(() => srv.sql(`SELECT COUNT(*) AS n FROM messages WHERE id IN (${ids.join(',')}) AND dlr = 1`)[0].n === 20,
                  { timeoutMs: 20000, what: '20 SMS delivered' });
    const expectedCalls = () => srv.sql('SELECT COUNT(*) AS n FROM notify_calls WHERE state = 1')[0].n;
    await waitFor(() => rcv.calls.length > 0 && expectedCalls() === rcv.calls.length
                  && srv.sql('SELECT COUNT(*) AS n FROM notify_calls WHERE state = 0')[0].n === 0,
                  { timeoutMs: 20000, what: 'every callback delivered' });

    const after = await scrape(srv);
    const delta = (name, labels) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta('smsgate_messages_accepted_total'), 20);
    assert.equal(delta('smsgate_http_requests_total', jobs), 20);
    assert.equal(delta('smsgate_http_requests_total', { ...jobs, code: '400' }), 1);
    assert.equal(delta('smsgate_http_requests_total', { route: 'unmatched', code: '404' }), 1);
    assert.equal(delta('smsgate_http_request_seconds', { method: 'POST', route: '/sms/{}/jobs' }), 21);
    assert.equal(delta('smsgate_smpp_submits_total', { route: 'sim', result: 'accepted' }), 20);
    assert.equal(delta('smsgate_messages_final_total', { status: 'delivered' }), 20);
    assert.equal(delta('smsgate_messages_final_total', { status: 'failed' }), 0);
    const debited = srv.ledger(sn).slice(ledgerBefore).filter((r) => r.kind === 'debit')
      .reduce((a, r) => a - r.amount, 0);
    assert.ok(debited > 0);
    assert.ok(Math.abs(delta('smsgate_credits_debited_total') - debited) < 1e-9,
              `debited ${debited}, counted ${delta('smsgate_credits_debited_total')}`);
    assert.equal(delta('smsgate_callbacks_total', { result: 'delivered' }), rcv.calls.length);
    assert.equal(delta('smsgate_callback_seconds'), rcv.calls.length);
    assert.ok(delta('smsgate_store_batch_operations') > 0);
    assert.ok(delta('smsgate_store_commit_seconds') > 0);
    assert.equal(value(after, 'smsgate_queue_messages', { state: 'due' }), 0);
    assert.equal(value(after, 'smsgate_queue_messages', { state: 'in_flight' }), 0);
    assert.equal(value(after, 'smsgate_callbacks_pending'), 0);
    assert.equal(value(after, 'smsgate_callbacks_dead'), 0);
    assert.equal(value(after, 'smsgate_route_up', { route: 'sim' }), 1);
    // docs/metrics.md lists every family, and the Grafana dashboard uses only families served
    const doc = fs.readFileSync(path.join(ROOT, 'docs/metrics.md'), 'utf8');
    for (const name of after.typed.keys()) assert.ok(doc.includes(`\`${name}`), `docs/metrics.md lacks ${name}`);
    const dash = fs.readFileSync(path.join(ROOT, 'docs/grafana/smsgate.json'), 'utf8');
    JSON.parse(dash);
    const used = new Set([...dash.matchAll(/\b((?:smsgate|process)_[a-z_]+)/g)].map((m) => m[1]));
    assert.ok(used.size > 15);
    for (const name of used) {
      assert.ok(after.typed.has(name) || after.typed.get(name.replace(/_(bucket|sum|count)$/, '')) === 'histogram',
                `the dashboard uses ${name}, which /metrics does not serve`);
    }
    // labels never carry a receiver or an id
    const r = await srv.metrics();
    assert.doesNotMatch(r.text, /\+3360|metrics-20|smsgate_http_requests_total\{[^}]*route="\/sms\/sms-/);
  });

  test('a deferred SMS is counted as held; cancelling it counts it cancelled', { timeout: 30000 }, async () => {
    const keys = srv.createAccount('metrics-held', 100);
    const client = srv.sdk(keys);
    const before = await scrape(srv);
    const rep = await client.requestPromised('POST', `/sms/${keys.serviceName}/jobs`, {
      message: 'later', receivers: ['+33612345678'], differedPeriod: 60, noStopClause: true,
      senderForResponse: true });
    let now = await scrape(srv);
    assert.equal(value(now, 'smsgate_queue_messages', { state: 'held' })
                 - value(before, 'smsgate_queue_messages', { state: 'held' }), 1);
    await client.requestPromised('DELETE', `/sms/${keys.serviceName}/jobs/${rep.ids[0]}`);
    now = await scrape(srv);
    assert.equal(value(now, 'smsgate_messages_final_total', { status: 'cancelled' })
                 - value(before, 'smsgate_messages_final_total', { status: 'cancelled' }), 1);
    assert.equal(value(now, 'smsgate_queue_messages', { state: 'held' }),
                 value(before, 'smsgate_queue_messages', { state: 'held' }));
  });

  test('only GET /metrics is served there', async () => {
    assert.equal((await srv.metrics('/other')).status, 404);
    const r = await httpRequest({ port: srv.metricsPort, method: 'POST', target: '/metrics', body: 'x' });
    assert.equal(r.status, 405);
    // and the API's listener does not serve it
    assert.equal((await httpRequest({ port: srv.port, target: '/metrics' })).status, 404);
  });
});

describe('an SMPP route in /metrics', () => {
  let smsc, srv;
  before(async () => {
    smsc = await new Smsc({ systemId: 'metrics-fr', receiptDelayMs: 150 }).start();
    srv = await startServer({ args: ['--smpp-reconnect-min-ms', '100', '--smpp-reconnect-max-ms', '500'] });
    srv.smsctlOk(['route', 'add', 'op-fr', '--smpp', `127.0.0.1:${smsc.port}`, '--system-id', 'metrics-fr',
      '--prefix', '+33', '--binds', '2']);
  });
  after(async () => {
    try { await srv?.finish(); } finally { await smsc?.stop(); }
  });

  // GET /admin/route-status, the routes by name
  async function routeStatus() {
    const token = fs.readFileSync(`${srv.dataDir}/admin.token`, 'utf8').trim();
    const r = await httpRequest({ port: srv.port, target: '/admin/route-status',
      headers: { Authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.text);
    return Object.fromEntries(r.json.map((x) => [x.name, x]));
  }

  test('binds, submits, receipts and their latency, incoming messages', { timeout: 60000 }, async () => {
    await waitFor(async () => value(await scrape(srv), 'smsgate_smpp_binds', { route: 'op-fr', state: 'bound' }) === 2,
                  { timeoutMs: 15000, what: 'two binds bound' });
    // no receipt yet: the latency the console shows is null (the sim route has none at all)
    let st = await routeStatus();
    assert.equal(st['op-fr'].receiptLatency, null);
    assert.equal('receiptLatency' in st.sim, false);
    const keys = srv.createAccount('metrics-smpp', 100);
    const client = srv.sdk(keys);
    for (let i = 0; i < 5; i++) {
      await client.requestPromised('POST', `/sms/${keys.serviceName}/jobs`, {
        message: `smpp ${i}`, receivers: [`+3361000000${i}`], senderForResponse: true, noStopClause: true });
    }
    await waitFor(() => srv.sql('SELECT COUNT(*) AS n FROM messages WHERE dlr = 1')[0].n === 5,
                  { timeoutMs: 20000, what: '5 receipts applied' });
    assert.equal(await smsc.sendMO({ systemId: 'metrics-fr', from: '33698765432', to: '36184', text: 'hello' }), 0);
    const fams = await scrape(srv);
    assert.equal(value(fams, 'smsgate_smpp_submits_total', { route: 'op-fr', result: 'accepted' }), 5);
    assert.equal(value(fams, 'smsgate_smpp_receipts_total', { route: 'op-fr' }), 5);
    assert.equal(value(fams, 'smsgate_smpp_receipt_seconds', { route: 'op-fr' }), 5);
    const sum = fams.samples.find((x) => x.name === 'smsgate_smpp_receipt_seconds_sum' && x.labels.route === 'op-fr');
    // the SMSC sends each receipt 150 ms after its answer: each delay is at least that
    assert.ok(sum.value >= 5 * 0.1 && sum.value < 5 * 10, `receipt delays sum ${sum.value}`);
    // the same histogram in GET /admin/route-status: its count, the quantiles estimated from its
    // buckets (each delay at least 150 ms, so above the 100 ms bound), the exact mean
    st = await routeStatus();
    const lat = st['op-fr'].receiptLatency;
    assert.equal(lat.count, 5, JSON.stringify(lat));
    assert.equal(st['op-fr'].receiptSeconds.count, 5);
    assert.ok(lat.medianMs >= 100 && lat.medianMs < 10000, JSON.stringify(lat));
    assert.ok(lat.p95Ms >= lat.medianMs && lat.p95Ms <= 10000, JSON.stringify(lat));
    assert.ok(Math.abs(lat.meanMs - (sum.value / 5) * 1000) <= 1, `${JSON.stringify(lat)}, sum ${sum.value}`);
    // the median as Prometheus' histogram_quantile() computes it from /metrics' buckets
    const buckets = fams.samples.filter((x) => x.name === 'smsgate_smpp_receipt_seconds_bucket' && x.labels.route === 'op-fr')
      .map((x) => [x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), x.value]);
    const k = buckets.findIndex(([, n]) => n >= 2.5);
    const [lo, below] = k ? buckets[k - 1] : [0, 0];
    const promMedian = lo + (buckets[k][0] - lo) * (2.5 - below) / (buckets[k][1] - below);
    assert.ok(Math.abs(lat.medianMs - promMedian * 1000) <= 1, `median ${lat.medianMs} ms, Prometheus ${promMedian} s`);
    assert.equal(value(fams, 'smsgate_smpp_incoming_total', { route: 'op-fr' }), 1);
    assert.equal(value(fams, 'smsgate_smpp_window_in_use', { route: 'op-fr' }), 0);
    assert.equal(value(fams, 'smsgate_route_up', { route: 'op-fr' }), 1);
    srv.expectLog(/op-fr/); // the binds lost when the SMSC stops at the end
  });
});

describe('--metrics-listen empty', () => {
  test('disables the listener', async () => {
    const srv = await startServer({ args: ['--metrics-listen', ''] });
    try {
      await assert.rejects(srv.metrics(), /ECONNREFUSED/);
    } finally {
      await srv.finish();
    }
  });
});

describe('/healthz and /readyz', () => {
  let srv, token;
  before(async () => {
    srv = await startServer();
    token = fs.readFileSync(`${srv.dataDir}/admin.token`, 'utf8').trim();
  });
  after(async () => { await srv?.finish(); });

  const admin = (method, target, body) => httpRequest({
    port: srv.port, method, target, body: body && JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });

  test('healthz answers; readyz is 503 with the reason while no route can take traffic', { timeout: 30000 }, async () => {
    let r = await httpRequest({ port: srv.port, target: '/healthz' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    // ready once the route table is loaded (at once on SQLite; a moment later on PostgreSQL)
    await waitFor(async () => (await httpRequest({ port: srv.port, target: '/readyz' })).status === 200,
                  { timeoutMs: 10000, what: 'readyz 200 after start' });
    r = await httpRequest({ port: srv.port, target: '/readyz' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ready');
    assert.equal(r.json.routesUp, 1);
    assert.equal((await admin('PUT', '/admin/routes/sim', { enabled: false })).status, 200);
    await waitFor(async () => (await httpRequest({ port: srv.port, target: '/readyz' })).status === 503,
                  { timeoutMs: 5000, what: 'readyz 503 once the sim is disabled' });
    r = await httpRequest({ port: srv.port, target: '/readyz' });
    assert.equal(r.json.httpCode, '503 Service Unavailable');
    assert.match(r.json.message, /^Not ready: no route can take traffic/);
    assert.equal((await admin('PUT', '/admin/routes/sim', { enabled: true })).status, 200);
    await waitFor(async () => (await httpRequest({ port: srv.port, target: '/readyz' })).status === 200,
                  { timeoutMs: 5000, what: 'readyz 200 again' });
    assert.doesNotMatch(srv.logText(), /readyz.*failed: 503/, 'a probe is not a warning');
  });
});

describe('/readyz on PostgreSQL', { skip: havePg ? false : `no ${PGBIN}/initdb` }, () => {
  let pg, srv;
  before(async () => {
    pg = await scratchCluster();
    srv = await startServer({ conninfo: pg.conninfo });
  });
  after(async () => {
    try { await srv?.finish(); } finally { await pg?.stop(); }
  });

  test('503 while the database is stopped, 200 once it is back', { timeout: 60000 }, async () => {
    const ready = () => httpRequest({ port: srv.port, target: '/readyz' });
    // ready once the route table is loaded from the database
    await waitFor(async () => (await ready()).status === 200, { timeoutMs: 10000, what: 'readyz 200' });
    srv.expectLog(/The connection to PostgreSQL was lost/);
    srv.expectLog(/The connection listening for other nodes' wake-ups is down/);
    srv.expectLog(/Renewing node '.*'s heartbeat failed \(database unreachable\)/);
    srv.expectLog(/Node '.*' could not renew its heartbeat for \d+ ms \(half of node-timeout-s/);
    srv.expectLog(/Recording node '.*''s stop failed \(database unreachable\)/);
    await pg.crash();
    await waitFor(async () => (await ready()).status === 503, { timeoutMs: 10000, what: 'readyz 503' });
    const r = await ready();
    assert.equal(r.json.httpCode, '503 Service Unavailable');
    assert.match(r.json.message, /^Not ready: the database does not answer/);
    let fams = await scrape(srv); // metrics still answer, without the database
    assert.equal(value(fams, 'smsgate_store_up'), 0);
    assert.equal(fams.typed.has('smsgate_queue_messages'), false);
    await pg.resume();
    await waitFor(async () => (await ready()).status === 200,
                  { timeoutMs: 20000, what: 'readyz 200 once PostgreSQL is back' });
    fams = await scrape(srv);
    assert.equal(value(fams, 'smsgate_store_up'), 1);
  });
});
