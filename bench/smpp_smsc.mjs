#!/usr/bin/env node
// bench/smpp_smsc.mjs - the SMSC simulator of tests/integration/lib/smsc.mjs in its own process
// for bench/smpp.mjs, so that it does not share a core with the load generator. It talks with
// its parent over IPC: {cmd:'start'} -> {port}; {cmd:'stats'} -> counts and timestamps.
import { performance } from 'node:perf_hooks';

import { Smsc } from '../tests/integration/lib/smsc.mjs';

const smsc = new Smsc({ systemId: 'bench', receiptDelayMs: 0 });
let firstSubmit = 0, lastSubmit = 0, firstAck = 0, lastAck = 0;
const origSubmit = smsc.onSubmit.bind(smsc);
smsc.onSubmit = (session, pdu) => {
  const t = performance.now();
  if (!firstSubmit) firstSubmit = t;
  lastSubmit = t;
  origSubmit(session, pdu);
  smsc.submits.length = 0; // keep memory flat: only counts matter here
  smsc.count = (smsc.count || 0) + 1;
};
const origResp = smsc.onReceiptResp.bind(smsc);
smsc.onReceiptResp = (session, pdu) => {
  const before = smsc.receiptsAcked;
  origResp(session, pdu);
  if (smsc.receiptsAcked > before) {
    const t = performance.now();
    if (!firstAck) firstAck = t;
    lastAck = t;
  }
};

process.on('message', async (m) => {
  if (m.cmd === 'start') {
    await smsc.start();
    process.send({ port: smsc.port });
  } else if (m.cmd === 'stats') {
    process.send({ submits: smsc.count || 0, acked: smsc.receiptsAcked, firstSubmit, lastSubmit,
      firstAck, lastAck, binds: smsc.binds.length });
  } else if (m.cmd === 'reset') {
    firstSubmit = lastSubmit = firstAck = lastAck = 0;
    smsc.count = 0;
    smsc.receiptsAcked = 0;
    process.send({ ok: true });
  } else if (m.cmd === 'exit') {
    await smsc.stop();
    process.exit(0);
  }
});
process.send({ ready: true });
