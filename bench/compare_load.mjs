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
// Requests go over C hand-written keep-alive connections (class Conn). Two modes: a burst (rate 0: C requests at once, each answer starts the next one) and an
// offered load (rate R: request i is due at i/R seconds; it is sent then, or as soon as fewer
// than C are in flight). Under an offered load latency is measured from when a request was
// due, so a client that falls behind does not hide the server's queueing; in a burst, from
// when it was sent.
//
// IPC: {cmd:'run', system, port, ports (optional: several nodes), n, concurrency, rate, keys, sn,
//       sinkPort}
//      -> {due: [...], answered: [...], status: {code: count}, errors, firstError}
// Times are epoch milliseconds with a fraction.
import crypto from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();
const receiver = (i) => `+3361${String(i).padStart(7, '0')}`;

// One keep-alive HTTP/1.1 connection, written by hand: one request at a time, the answer
// framed by Content-Length (both servers send it). Much cheaper per request than node's http
// client, so that the load generator takes as little of the machine as it can.
class Conn {
  constructor(port) {
    this.port = port;
    this.sock = null;
    this.buf = '';
    this.cb = null;
    this.pending = null;
  }

  open() {
    this.buf = '';
    this.sock = net.connect({ host: '127.0.0.1', port: this.port });
    this.sock.setNoDelay(true);
    this.sock.setEncoding('latin1');
    this.sock.on('data', (d) => this.onData(d));
    this.sock.on('error', (e) => this.fail(e));
    this.sock.on('close', () => this.fail(new Error('connection closed')));
  }

  send(text, cb) {
    if (!this.sock) this.open();
    this.cb = cb;
    this.pending = text;
    this.sock.write(text);
  }

  onData(d) {
    this.buf += d;
    const h = this.buf.indexOf('\r\n\r\n');
    if (h < 0 || !this.cb) return;
    const head = this.buf.slice(0, h);
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    if (this.buf.length < h + 4 + len) return;
    const status = Number(head.slice(9, 12));
    const close = /\r\nconnection:\s*close/i.test(head);
    this.buf = this.buf.slice(h + 4 + len);
    const cb = this.cb;
    this.cb = null;
    if (close) this.drop();
    cb(null, status);
  }

  drop() {
    if (!this.sock) return;
    const s = this.sock;
    this.sock = null;
    s.removeAllListeners();
    s.on('error', () => {});
    s.destroy();
  }

  fail(e) {
    this.drop();
    const cb = this.cb;
    this.cb = null;
    if (cb) cb(e, 0);
  }
}

function run(o) {
  const due = new Float64Array(o.n), answered = new Float64Array(o.n);
  const status = {};
  let errors = 0, firstError = null, next = 0, inflight = 0, done = 0;
  let tsSec = 0, tsStr = '';
  // o.ports: several nodes of one cluster (bench/compare.mjs --store postgres, 2 nodes): the
  // connections are spread over them in turn, each signing for its own node's address.
  const ports = o.ports && o.ports.length ? o.ports : [o.port];
  const idle = [];
  for (let k = 0; k < o.concurrency; k++) idle.push(new Conn(ports[k % ports.length]));

  function requestText(i, port) {
    const base = `http://127.0.0.1:${port}`;
    const host = `Host: 127.0.0.1:${port}\r\n`;
    if (o.system === 'smsgate') {
      const target = `/1.0/sms/${o.sn}/jobs`;
      const body = `{"message":"bench","receivers":["${receiver(i)}"],"senderForResponse":true,`
        + '"noStopClause":true}';
      const sec = Math.floor(Date.now() / 1000);
      if (sec !== tsSec) {
        tsSec = sec;
        tsStr = String(sec);
      }
      const sig = '$1$' + crypto.createHash('sha1').update(`${o.keys.applicationSecret}+`
        + `${o.keys.consumerKey}+POST+${base}${target}+${body}+${tsStr}`).digest('hex');
      return `POST ${target} HTTP/1.1\r\n${host}Content-Type: application/json\r\n`
        + `Content-Length: ${body.length}\r\nX-Ovh-Application: ${o.keys.applicationKey}\r\n`
        + `X-Ovh-Consumer: ${o.keys.consumerKey}\r\nX-Ovh-Timestamp: ${tsStr}\r\n`
        + `X-Ovh-Signature: ${sig}\r\n\r\n${body}`;
    }
    const dlrUrl = `http://127.0.0.1:${o.sinkPort}/k?i=${i}&t=%d`;
    return `GET /cgi-bin/sendsms?username=bench&password=bench&from=36184`
      + `&to=${encodeURIComponent(receiver(i))}&text=bench&dlr-mask=31`
      + `&dlr-url=${encodeURIComponent(dlrUrl)} HTTP/1.1\r\n${host}\r\n`;
  }

  return new Promise((resolve) => {
    const start = now() + 5;
    const dueAt = (i) => (o.rate > 0 ? start + (i * 1000) / o.rate : start);
    let timer = null;
    const pump = () => {
      const t = now();
      while (next < o.n && inflight < o.concurrency && dueAt(next) <= t) {
        const i = next++;
        due[i] = o.rate > 0 ? dueAt(i) : t; /* a burst: from when it was sent */
        inflight++;
        const c = idle.pop();
        c.send(requestText(i, c.port), (err, code) => {
          answered[i] = now();
          if (err) {
            errors++;
            if (!firstError) firstError = err.message;
          } else {
            status[code] = (status[code] || 0) + 1;
          }
          idle.push(c);
          inflight--;
          done++;
          if (done === o.n) {
            if (timer) clearInterval(timer);
            for (const x of idle) x.drop();
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
