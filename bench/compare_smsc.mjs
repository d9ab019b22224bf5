#!/usr/bin/env node
// bench/compare_smsc.mjs - the SMSC simulator of bench/compare.mjs, in its own process.
//
// It is the integration tests' simulator (tests/integration/lib/smsc.mjs, on the npm `smpp`
// package): every submit_sm is accepted with a decimal message id and its delivery receipt
// ("stat:DELIVRD", standard text form) is sent at once on the same transceiver bind. Both
// systems under test see exactly the same peer.
//
// What it adds: the arrival time of every submit_sm, keyed by the message's index. The load
// generator sends message i to +3361 followed by i on 7 digits, so the index is read back from
// destination_addr whatever the system did with the '+'. Times are epoch milliseconds with a
// fraction (performance.timeOrigin + performance.now()), comparable across the processes of
// one machine.
//
// IPC with the parent:
//   {cmd:'start'}            -> {port}
//   {cmd:'reset', n}         -> {ok}: forget everything, expect indexes 0..n-1
//   {cmd:'stats'}            -> {submits, unique, acked, binds}
//   {cmd:'dump'}             -> {times: [t of first submit of i, or 0]}
//   {cmd:'exit'}
import { performance } from 'node:perf_hooks';

import { Smsc } from '../tests/integration/lib/smsc.mjs';

const now = () => performance.timeOrigin + performance.now();
const PREFIX = '3361';

const smsc = new Smsc({ receiptDelayMs: 0 });
let times = new Float64Array(0);
let submits = 0, unique = 0;

const origSubmit = smsc.onSubmit.bind(smsc);
smsc.onSubmit = (session, pdu) => {
  const t = now();
  origSubmit(session, pdu);
  const sub = smsc.submits.pop(); // keep memory flat: only the times matter here
  smsc.submits.length = 0;
  submits++;
  if (!sub) return;
  const d = sub.destination_addr.replace(/^\+/, '');
  if (!d.startsWith(PREFIX)) return;
  const i = Number(d.slice(PREFIX.length));
  if (i >= 0 && i < times.length && times[i] === 0) {
    times[i] = t;
    unique++;
  }
};

process.on('message', async (m) => {
  switch (m.cmd) {
    case 'start':
      await smsc.start();
      process.send({ port: smsc.port });
      break;
    case 'reset':
      times = new Float64Array(m.n);
      submits = unique = 0;
      smsc.receiptsAcked = 0;
      process.send({ ok: true });
      break;
    case 'stats':
      process.send({ submits, unique, acked: smsc.receiptsAcked,
        binds: smsc.binds.filter((b) => b.status === 0).length });
      break;
    case 'dump':
      process.send({ times: Array.from(times) });
      break;
    case 'exit':
      await smsc.stop();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
