#!/usr/bin/env node
// bench/compare_sink.mjs - the callback sink of bench/compare.mjs, in its own process: an HTTP
// server on loopback that answers every request 200 at once and records when the FINAL status
// callback of each message arrived.
//
// Two URL forms, one per system under test:
//   /s?...&dlr=D&receiver=%2B3361NNNNNNN&...  smsgated's status callback (docs/callbacks.md):
//                                             final when deliveryReceipt D is 1, 2 or 16;
//   /k?i=N&t=T                               Kannel's dlr-url with %d as T: final when the DLR
//                                             type is 1 (delivered), 2 (undelivered) or 16
//                                             (SMSC reject); 8 (SMSC accepted) and 4 are not.
// The message index is the receiver's last 7 digits (smsgated) or i (Kannel).
//
// IPC with the parent:
//   {cmd:'start'}       -> {port}
//   {cmd:'reset', n}    -> {ok}
//   {cmd:'stats'}       -> {calls, finals, duplicates, other}
//   {cmd:'dump'}        -> {times: [arrival of the final callback of i, or 0]}
//   {cmd:'exit'}
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

let times = new Float64Array(0);
let calls = 0, finals = 0, duplicates = 0, other = 0;

function note(i, final) {
  calls++;
  if (!final) return;
  if (!(i >= 0 && i < times.length)) {
    other++;
    return;
  }
  if (times[i] !== 0) {
    duplicates++;
    return;
  }
  times[i] = now();
  finals++;
}

function handle(target) {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  if (path === '/s') {
    const dlr = Number(params.get('dlr'));
    const rcv = params.get('receiver') || '';
    note(Number(rcv.slice(-7)), dlr === 1 || dlr === 2 || dlr === 16);
  } else if (path === '/k') {
    const t = Number(params.get('t'));
    note(Number(params.get('i')), t === 1 || t === 2 || t === 16);
  } else {
    other++;
  }
}

// HTTP/1.1 by hand, keep-alive and pipelining included: the callers send GETs without a body
// (a Content-Length, if any, is honoured). Much cheaper per call than node's http server.
const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';
const server = net.createServer((sock) => {
  let buf = '';
  sock.setNoDelay(true);
  sock.setEncoding('latin1');
  sock.on('error', () => {});
  sock.on('data', (d) => {
    buf += d;
    let out = '';
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0) break;
      const head = buf.slice(0, h);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (buf.length < h + 4 + len) break;
      buf = buf.slice(h + 4 + len);
      const sp = head.indexOf(' ');
      handle(head.slice(sp + 1, head.indexOf(' ', sp + 1)));
      out += OK;
    }
    if (out) sock.write(out);
  });
});

process.on('message', (m) => {
  switch (m.cmd) {
    case 'start':
      server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
      break;
    case 'reset':
      times = new Float64Array(m.n);
      calls = finals = duplicates = other = 0;
      process.send({ ok: true });
      break;
    case 'stats':
      process.send({ calls, finals, duplicates, other });
      break;
    case 'dump':
      process.send({ times: Array.from(times) });
      break;
    case 'exit':
      server.close();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
