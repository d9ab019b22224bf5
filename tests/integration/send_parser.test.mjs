// send_parser.test.mjs - issue 15, point 1: one parser and one validation of a send for every
// way in (src/api/send.h). The same refused field gets the same 400 and the same message
// through POST /sms/{sn}/jobs, the same under virtualNumbers/{number}, a send on a receivers
// slot, and a batch (under the batch's own name of the field); nothing is stored or charged
// by any of them. smsctl checks its --priority with the server's table (smsctl.test.mjs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, uniq } from './lib/harness.mjs';

describe('one parser of a send', () => {
  let srv, keys, sn;
  const vnum = '+33700000042';

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount(uniq('parse'), 10);
    sn = keys.serviceName;
    srv.smsctlOk(['number', 'add', sn, vnum]);
  });
  after(async () => { await srv?.finish(); });

  const post = (path, body) => srv.raw({ method: 'POST', path, keys, body });

  // Each refusal: the jobs body's patch, the batch's patch (its names), the field as each
  // names it, and the message's part after "Invalid value for parameter 'NAME': ".
  const cases = [
    { jobs: { tag: 't'.repeat(129) }, batch: { tag: 't'.repeat(129) }, field: ['tag', 'tag'],
      rest: /too long, at most 128 characters are allowed$/ },
    { jobs: { message: '' }, batch: { message: '' }, field: ['message', 'message'],
      rest: /it is empty$/ },
    { jobs: { message: 7 }, batch: { message: 7 }, field: ['message', 'message'],
      rest: /a string is expected$/ },
    { jobs: { class: 'loud' }, batch: { class: 'LOUD' }, field: ['class', 'class'],
      rest: /is not one of / },
    { jobs: { noStopClause: 'yes' }, batch: { noStop: 'yes' }, field: ['noStopClause', 'noStop'],
      rest: /true or false is expected$/ },
    { jobs: { senderForResponse: false, sender: 'TwelveLetter' },
      batch: { senderForResponse: undefined, from: 'TwelveLetter' }, field: ['sender', 'from'],
      rest: /'TwelveLetter' is neither an alphanumeric sender/, vnum: false },
  ];

  test('the same field refused the same way through jobs, a virtual number, a slot and a batch',
    async () => {
      for (const k of cases) {
        const jobs = { message: 'x', senderForResponse: true, receivers: ['+33612345678'], ...k.jobs };
        const slot = { ...jobs, receivers: undefined, receiversSlotId: '1' };
        const batch = { message: 'x', senderForResponse: true, to: ['+33612345678'], ...k.batch };
        const ways = [
          [`/sms/${sn}/jobs`, jobs, k.field[0]],
          [`/sms/${sn}/jobs`, slot, k.field[0]],
          [`/sms/${sn}/batches`, batch, k.field[1]],
        ];
        if (k.vnum !== false) {
          const { senderForResponse, ...v } = jobs; // not a field of a virtual number's send
          ways.push([`/sms/${sn}/virtualNumbers/${vnum.slice(1)}/jobs`, v, k.field[0]]);
        }
        for (const [path, body, field] of ways) {
          const r = await post(path, body);
          const what = `${path} ${JSON.stringify(body).slice(0, 80)}`;
          assert.equal(r.status, 400, `${what}: ${r.text}`);
          const prefix = `Invalid value for parameter '${field}': `;
          assert.ok(r.json.message.startsWith(prefix), `${what}: ${r.json.message}`);
          assert.match(r.json.message.slice(prefix.length), k.rest, what);
        }
      }
      // Nothing was stored or charged.
      assert.deepEqual((await srv.raw({ path: `/sms/${sn}/jobs`, keys })).json, []);
      assert.deepEqual((await srv.raw({ path: `/sms/${sn}/outgoing`, keys })).json, []);
      assert.deepEqual((await srv.raw({ path: `/sms/${sn}/batches`, keys })).json, []);
      assert.equal((await srv.raw({ path: `/sms/${sn}`, keys })).json.creditsLeft, 10);
    });

  test('the receivers: one source, its bounds', async () => {
    const base = { message: 'x', senderForResponse: true };
    const expect = [
      [`/sms/${sn}/jobs`, base, /^Missing parameter 'receivers', 'receiversSlotId' or 'receiversDocumentUrl'$/],
      [`/sms/${sn}/batches`, base, /^Missing parameter 'to' or 'slotID'$/],
      [`/sms/${sn}/jobs`, { ...base, receivers: ['+33612345678'], receiversDocumentUrl: 'http://127.0.0.1:9/x.csv' },
        /^Give only one of 'receivers', 'receiversSlotId' and 'receiversDocumentUrl'$/],
      [`/sms/${sn}/batches`, { ...base, to: ['+33612345678'], slotID: 2 }, /^Give only one of 'to' and 'slotID'$/],
      [`/sms/${sn}/jobs`, { ...base, receiversSlotId: '10' }, /^Invalid value for parameter 'receiversSlotId': a slot number from 1 to 9/],
      [`/sms/${sn}/batches`, { ...base, slotID: '0' }, /^Invalid value for parameter 'slotID': a slot number from 1 to 9/],
      [`/sms/${sn}/jobs`, { ...base, receivers: ['+33612345678', 6] }, /^Invalid value for parameter 'receivers': element 1 is not a string$/],
      [`/sms/${sn}/batches`, { ...base, to: ['+33612345678', 6] }, /^Invalid value for parameter 'to': element 1 is not a string$/],
    ];
    for (const [path, body, re] of expect) {
      const r = await post(path, body);
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.message, re, `${path} ${JSON.stringify(body)}`);
    }
  });

  test('a batch\'s fields are stored as a job\'s', async () => {
    // A valid batch and a valid job: both accepted, the batch's class FLASH stored as flash.
    let r = await post(`/sms/${sn}/batches`, { message: 'b', senderForResponse: true, noStop: true,
                                                to: ['+33612345601'], class: 'FLASH', tag: 'pb' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status === 'PENDING' || r.json.status === 'COMPLETED', true, r.text);
    r = await post(`/sms/${sn}/jobs`, { message: 'j', senderForResponse: true, noStopClause: true,
                                         receivers: ['+33612345602'], class: 'flash', tag: 'pj' });
    assert.equal(r.status, 200, r.text);
    // Same class (FLASH is flash), same text rule (noStop is noStopClause); a batch is sent
    // with priority low (2), a job with the default high (0).
    const rows = srv.sql(`SELECT tag, class AS cls, priority, message FROM messages
                          WHERE tag IN ('pb', 'pj') ORDER BY tag`);
    assert.deepEqual(rows.map((x) => [x.tag, Number(x.cls), Number(x.priority), x.message]),
      [['pb', 0, 2, 'b'], ['pj', 0, 0, 'j']]);
  });
});
