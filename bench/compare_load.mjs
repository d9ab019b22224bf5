#!/usr/bin/env node
// bench/compare_load.mjs - the load generator of bench/compare.mjs, in its own process.
//
// It sends N single-receiver SMS over keep-alive HTTP with at most C requests in flight:
//   smsgate  POST /1.0/sms/{sn}/jobs, signed like the OVH SDKs sign (docs/smsctl.md), body
//            {"message","receivers":[one],"senderForResponse":true,"noStopClause":true}
//   kannel   GET /cgi-bin/sendsms?username&password&from&to&text&dlr-mask=31&dlr-url=...
// Message i goes to +3361 followed by i on 7 digits; that is how the simulator and the sink
// find it again. Kannel's dlr-url carries i and the DLR type (%d).
//
// Two modes: a burst (rate 0: C requests at once, each answer starts the next one) and an
// offered load (rate R: request i is due at i/R seconds; it is sent then, or as soon as fewer
// than C are in flight). Latency is measured from when a request was due, so a client that
// falls behind does not hide the server's queueing.
//
// IPC: {cmd:'run', system, port, n, concurrency, rate, keys, sn, sinkPort}
//      -> {due: [...], answered: [...], status: {code: count}, errors, firstError}
// Times are epoch milliseconds with a fraction.
import crypto from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();
const receiver = (i) => `+3361${String(i).padStart(7, '0')}`;

function run(o) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency,
    maxFreeSockets: o.concurrency });
  const due = new Float64Array(o.n), answered = new Float64Array(o.n);
  const status = {};
  let errors = 0, firstError = null, next = 0, inflight = 0, done = 0;
  let tsSec = 0, tsStr = '';
  const base = `http://127.0.0.1:${o.port}`;

  function request(i) {
    let opts, body = null;
    if (o.system === 'smsgate') {
      const target = `/1.0/sms/${o.sn}/jobs`;
      body = `{"message":"bench","receivers":["${receiver(i)}"],"senderForResponse":true,`
        + '"noStopClause":true}';
      const sec = Math.floor(Date.now() / 1000);
      if (sec !== tsSec) {
        tsSec = sec;
        tsStr = String(sec);
      }
      const sig = '$1$' + crypto.createHash('sha1').update(`${o.keys.applicationSecret}+`
        + `${o.keys.consumerKey}+POST+${base}${target}+${body}+${tsStr}`).digest('hex');
      opts = { method: 'POST', path: target, headers: {
        'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
        'X-Ovh-Application': o.keys.applicationKey, 'X-Ovh-Consumer': o.keys.consumerKey,
        'X-Ovh-Timestamp': tsStr, 'X-Ovh-Signature': sig } };
    } else {
      const dlrUrl = `http://127.0.0.1:${o.sinkPort}/k?i=${i}&t=%d`;
      opts = { method: 'GET', path: '/cgi-bin/sendsms?username=bench&password=bench'
        + `&from=36184&to=${encodeURIComponent(receiver(i))}&text=bench&dlr-mask=31`
        + `&dlr-url=${encodeURIComponent(dlrUrl)}` };
    }
    return new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: o.port, agent, ...opts }, (res) => {
        res.on('data', () => {});
        res.on('end', () => {
          answered[i] = now();
          status[res.statusCode] = (status[res.statusCode] || 0) + 1;
          resolve();
        });
      });
      req.on('error', (e) => {
        answered[i] = now();
        errors++;
        if (!firstError) firstError = e.message;
        resolve();
      });
      if (body) req.write(body);
      req.end();
    });
  }

  return new Promise((resolve) => {
    const start = now() + 5;
    const dueAt = (i) => (o.rate > 0 ? start + (i * 1000) / o.rate : start);
    let timer = null;
    const pump = () => {
      const t = now();
      while (next < o.n && inflight < o.concurrency && dueAt(next) <= t) {
        const i = next++;
        due[i] = dueAt(i);
        inflight++;
        request(i).then(() => {
          inflight--;
          done++;
          if (done === o.n) {
            if (timer) clearInterval(timer);
            agent.destroy();
            resolve({ due: Array.from(due), answered: Array.from(answered), status, errors,
              firstError });
          } else {
            pump();
          }
        });
      }
    };
    timer = setInterval(pump, 1);
  });
}

process.on('message', async (m) => {
  if (m.cmd === 'run') process.send(await run(m));
  else if (m.cmd === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
