// conformance.test.mjs - every operation of OVH's /sms API (issue 15's first "Done when"):
// reads OVH's own schema (ovh-sms.json, lib/ovhschema.mjs finds it) and calls each of its 124
// operations once, with a recipe per operation below, in an order where the fixtures each one
// needs (a sender, a job, an SMS and its reply, a batch, a receivers slot, a phonebook, an SMS
// user, a virtual number...) were made before through the API itself (smsctl only for what
// only the operator may do: approve a sender, give a virtual number, blacklist a number).
//
// An operation answered 404 "Got an invalid (or empty) URL" or 405 is not implemented. Every
// other answer must be right:
//   * a 2xx answer has every field of the operation's responseType with the right type
//     (checkResponse; fields smsgate adds are allowed);
//   * an error answer is accepted only from the operations whose recipe says OVH itself
//     refuses them here (mayRefuse: SMPP on a service without SMPP access, a web chat that
//     does not exist...), and must be OVH's error body;
//   * no JSON answer carries a binary-float artefact (0.14000000000000001): a number written
//     with more than 9 digits after the point (or with an exponent) fails, whatever the
//     operation (a test of its own, over the answers of the first).
// The test prints how many operations are implemented and lists the others, and fails when
// fewer than MIN_IMPLEMENTED are.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { startServer, uniq, waitFor } from './lib/harness.mjs';
import { checkResponse, loadSchema, schemaMissing } from './lib/ovhschema.mjs';

// Issue 15's "Done when": at least 120 of the 124 (all 124 are, and each answers right).
const MIN_IMPLEMENTED = 120;

const schema = loadSchema();
const artefactsFound = []; // "op: numbers", filled by the calls, checked by a test of its own
let answered = false;

// The numbers of a JSON text (outside its strings) written with more than 9 digits after the
// point: what a double printed with 17 significant digits looks like (0.14000000000000001).
function floatArtefacts(text) {
  const found = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const m = /^-?\d+(\.(\d+))?([eE][-+]?\d+)?/.exec(text.slice(i, i + 64));
      if (m) {
        if ((m[2] && m[2].length > 9) || m[3]) found.push(m[0]);
        i += m[0].length - 1;
      }
    }
  }
  return found;
}

const NOT_IMPLEMENTED = (res) => res.status === 405
  || (res.status === 404 && res.json && /Got an invalid \(or empty\) URL/.test(res.json.message || ''));

const CSV_RECEIVERS = 'number;name\n+33612345678;Alice\n+33612345679;Bob\n';
const CSV_CONTACTS = 'name;surname;group;homeMobile\nDoe;John;friends;+33612345678\n';
const LATER = () => new Date(Date.now() + 7 * 86400000).toISOString().replace(/\.\d+Z$/, '+00:00');
const SMS = { message: 'Conformance check', senderForResponse: true, noStopClause: true, tag: 'conf' };

// One recipe per operation: [method, schema path, options]. Options:
//   params(ctx)    values of the path's {placeholders} besides the defaults (ctx.p)
//   query(ctx)     query parameters;  body(ctx)  the JSON body
//   before(ctx)    runs first (fixtures through the API); after(ctx, res) captures ids
//   mayRefuse      an OVH error answer is right for this operation here (or a function of ctx)
//   needs          operations that make its fixture: while one of them is not implemented (or
//                  answered wrong), an OVH error answer is accepted and the operation is listed
//                  as not checked (it still counts as implemented)
const RECIPES = [
  // ---- the account and prices
  ['GET', '/sms'],
  ['GET', '/sms/{serviceName}'],
  ['PUT', '/sms/{serviceName}', { body: () => ({ description: 'conformance' }) }],
  ['POST', '/sms/estimate', { body: () => ({ message: 'Hello', noStopClause: true, senderType: 'alpha' }) }],
  ['GET', '/sms/ptts', { query: () => ({ ptt: 0 }) }],
  ['GET', '/sms/rates/destinations', { query: () => ({ country: 'fr' }) }],
  ['GET', '/sms/rates/packs', { query: () => ({ country: 'fr' }) }],
  ['GET', '/sms/{serviceName}/seeOffers',
    { query: () => ({ countryCurrencyPrice: 'fr', countryDestination: 'fr', quantity: '1000' }) }],
  ['GET', '/sms/{serviceName}/serviceInfos'],
  ['PUT', '/sms/{serviceName}/serviceInfos',
    { body: () => ({ renew: { automatic: true, deleteAtExpiration: false, forced: false } }) }],
  ['GET', '/sms/{serviceName}/task', { after: (ctx, res) => { if (Array.isArray(res.json) && res.json.length) ctx.taskId = res.json[0]; } }],
  ['GET', '/sms/{serviceName}/task/{taskId}',
    { params: (ctx) => ({ taskId: ctx.taskId ?? 1 }), mayRefuse: (ctx) => ctx.taskId === undefined }],
  ['POST', '/sms/{serviceName}/transferCredits',
    { body: (ctx) => ({ credits: 1, smsAccountTarget: ctx.other.serviceName }), mayRefuse: true }],
  ['GET', '/sms/{serviceName}/exceptions', { query: () => ({ receiver: '+33612345678' }) }],

  // ---- senders
  ['GET', '/sms/{serviceName}/senders'],
  ['POST', '/sms/{serviceName}/senders',
    { body: (ctx) => ({ sender: ctx.p.sender, reason: 'conformance test', description: 'conformance' }),
      after: (ctx) => ctx.srv.smsctlOk(['sender', 'approve', ctx.p.serviceName, ctx.p.sender]) }],
  ['GET', '/sms/{serviceName}/senders/{sender}'],
  ['PUT', '/sms/{serviceName}/senders/{sender}', { body: () => ({ description: 'updated' }) }],
  ['GET', '/sms/{serviceName}/senders/{sender}/documents'],
  ['POST', '/sms/{serviceName}/senders/{sender}/documents',
    { body: () => ({ name: 'kbis.pdf', description: 'company registration' }),
      after: (ctx, res) => { if (res.json && res.json.documentID) ctx.p.documentID = res.json.documentID; } }],
  ['GET', '/sms/{serviceName}/senders/{sender}/documents/{documentID}', { needs: ['POST /sms/{serviceName}/senders/{sender}/documents'] }],
  ['PUT', '/sms/{serviceName}/senders/{sender}/documents/{documentID}',
    { body: () => ({ description: 'company registration, 2024' }),
      needs: ['POST /sms/{serviceName}/senders/{sender}/documents'] }],
  ['POST', '/sms/{serviceName}/senders/{sender}/validate', { body: () => ({ code: '000000' }), mayRefuse: true }],
  ['GET', '/sms/{serviceName}/sendersAvailableForValidation'],

  // ---- jobs, outgoing, incoming, the export
  ['POST', '/sms/{serviceName}/jobs',
    { body: () => ({ ...SMS, receivers: ['+33612340906'] }),
      after: async (ctx, res) => {
        ctx.outId = res.json.ids[0];
        ctx.jobId = (await ctx.call('POST', `/sms/${ctx.p.serviceName}/jobs`,
          { ...SMS, receivers: ['+33612340001'], differedPeriod: 1440 })).json.ids[0];
        await ctx.waitDelivered(`/sms/${ctx.p.serviceName}/outgoing/${ctx.outId}`);
        ctx.incId = await ctx.waitIncoming(`/sms/${ctx.p.serviceName}/incoming`);
      } }],
  ['GET', '/sms/{serviceName}/jobs'],
  ['GET', '/sms/{serviceName}/jobs/{id}', { params: (ctx) => ({ id: ctx.jobId }) }],
  ['GET', '/sms/{serviceName}/outgoing'],
  ['GET', '/sms/{serviceName}/outgoing/{id}', { params: (ctx) => ({ id: ctx.outId }) }],
  ['GET', '/sms/{serviceName}/outgoing/{id}/hlr', { params: (ctx) => ({ id: ctx.outId }) }],
  ['GET', '/sms/{serviceName}/incoming'],
  ['GET', '/sms/{serviceName}/incoming/{id}', { params: (ctx) => ({ id: ctx.incId }) }],
  ['GET', '/sms/{serviceName}/document', { query: () => ({ wayType: 'outgoing' }) }],

  // ---- blacklists
  ['GET', '/sms/{serviceName}/blacklists',
    { before: (ctx) => ctx.srv.smsctlOk(['blacklist', 'add', ctx.p.serviceName, ctx.blacklisted]) }],
  ['GET', '/sms/{serviceName}/blacklists/{number}', { params: (ctx) => ({ number: ctx.blacklisted }) }],

  // ---- receivers slots
  ['POST', '/sms/{serviceName}/receivers',
    { before: async (ctx) => { ctx.docId = await ctx.document('receivers.csv', CSV_RECEIVERS); },
      body: (ctx) => ({ slotId: 1, description: 'conformance', autoUpdate: false, documentId: ctx.docId }) }],
  ['GET', '/sms/{serviceName}/receivers'],
  ['GET', '/sms/{serviceName}/receivers/{slotId}', { needs: ['POST /sms/{serviceName}/receivers'] }],
  ['PUT', '/sms/{serviceName}/receivers/{slotId}', { body: () => ({ description: 'updated' }),
      needs: ['POST /sms/{serviceName}/receivers'] }],
  ['GET', '/sms/{serviceName}/receivers/{slotId}/csv', { needs: ['POST /sms/{serviceName}/receivers'] }],
  ['POST', '/sms/{serviceName}/receivers/{slotId}/clean', { body: () => ({ freemium: true, priceOnly: false }),
      needs: ['POST /sms/{serviceName}/receivers'] }],

  // ---- batches
  ['POST', '/sms/{serviceName}/batches',
    { body: () => ({ name: 'conformance', message: 'Batch check', senderForResponse: true, noStop: true,
      deferred: LATER(), to: ['+33612340101', '+33612340102'] }),
      after: (ctx, res) => { ctx.batchId = res.json.id; } }],
  ['GET', '/sms/{serviceName}/batches'],
  ['GET', '/sms/{serviceName}/batches/{id}', { params: (ctx) => ({ id: ctx.batchId }),
      needs: ['POST /sms/{serviceName}/batches'] }],
  ['PUT', '/sms/{serviceName}/batches/{id}', { params: (ctx) => ({ id: ctx.batchId }), body: () => ({ name: 'renamed' }),
      needs: ['POST /sms/{serviceName}/batches'] }],
  ['GET', '/sms/{serviceName}/batches/{id}/statistics', { params: (ctx) => ({ id: ctx.batchId }),
      needs: ['POST /sms/{serviceName}/batches'] }],
  ['POST', '/sms/{serviceName}/batches/{id}/cancel', { params: (ctx) => ({ id: ctx.batchId }),
      needs: ['POST /sms/{serviceName}/batches'] }],

  // ---- HLR lookups
  ['POST', '/sms/{serviceName}/hlr',
    { body: () => ({ receivers: ['+33612345678'] }),
      after: async (ctx, res) => {
        if (res.json && Array.isArray(res.json.ids) && res.json.ids.length) ctx.hlrId = res.json.ids[0];
        if (ctx.hlrId === undefined) return;
        await waitFor(async () => {
          const r = await ctx.call('GET', `/sms/${ctx.p.serviceName}/hlr/${ctx.hlrId}`);
          return r.status !== 200 || !['todo', 'doing'].includes(r.json.status);
        }, { what: 'the HLR lookup to end', timeoutMs: 10000 });
      } }],
  ['GET', '/sms/{serviceName}/hlr', {
    after: (ctx, res) => { if (ctx.hlrId === undefined && Array.isArray(res.json) && res.json.length) ctx.hlrId = res.json[0]; } }],
  ['GET', '/sms/{serviceName}/hlr/{id}', { params: (ctx) => ({ id: ctx.hlrId ?? 1 }),
      needs: ['POST /sms/{serviceName}/hlr'] }],
  ['GET', '/sms/{serviceName}/hlr/{id}/operator', { params: (ctx) => ({ id: ctx.hlrId ?? 1 }),
      needs: ['POST /sms/{serviceName}/hlr'] }],

  // ---- phonebooks
  ['POST', '/sms/{serviceName}/phonebooks',
    { body: () => ({ name: 'conformance' }), after: (ctx, res) => { if (typeof res.json === 'string') ctx.p.bookKey = res.json; } }],
  ['GET', '/sms/{serviceName}/phonebooks'],
  ['GET', '/sms/{serviceName}/phonebooks/{bookKey}', { needs: ['POST /sms/{serviceName}/phonebooks'] }],
  ['PUT', '/sms/{serviceName}/phonebooks/{bookKey}', { body: () => ({ name: 'renamed' }),
      needs: ['POST /sms/{serviceName}/phonebooks'] }],
  ['POST', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact',
    { body: () => ({ group: 'friends', name: 'Doe', surname: 'Jane', homeMobile: '+33612345678' }),
      after: (ctx, res) => { if (Number.isInteger(res.json)) ctx.contactId = res.json; },
      needs: ['POST /sms/{serviceName}/phonebooks'] }],
  ['GET', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact', { needs: ['POST /sms/{serviceName}/phonebooks'] }],
  ['GET', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact/{id}', { params: (ctx) => ({ id: ctx.contactId ?? 1 }),
      needs: ['POST /sms/{serviceName}/phonebooks', 'POST /sms/{serviceName}/phonebooks/{bookKey}/phonebookContact'] }],
  ['PUT', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact/{id}',
    { params: (ctx) => ({ id: ctx.contactId ?? 1 }), body: () => ({ name: 'Doe-Smith' }),
      needs: ['POST /sms/{serviceName}/phonebooks', 'POST /sms/{serviceName}/phonebooks/{bookKey}/phonebookContact'] }],
  ['GET', '/sms/{serviceName}/phonebooks/{bookKey}/export', { query: () => ({ format: 'csv' }),
      needs: ['POST /sms/{serviceName}/phonebooks'] }],
  ['POST', '/sms/{serviceName}/phonebooks/{bookKey}/import',
    { before: async (ctx) => { ctx.contactsDoc = await ctx.document('contacts.csv', CSV_CONTACTS); },
      body: (ctx) => ({ documentId: ctx.contactsDoc }),
      needs: ['POST /sms/{serviceName}/phonebooks'] }],
  ['DELETE', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact/{id}', { params: (ctx) => ({ id: ctx.contactId ?? 1 }),
      needs: ['POST /sms/{serviceName}/phonebooks', 'POST /sms/{serviceName}/phonebooks/{bookKey}/phonebookContact'] }],
  ['DELETE', '/sms/{serviceName}/phonebooks/{bookKey}', { needs: ['POST /sms/{serviceName}/phonebooks'] }],

  // ---- templates
  ['POST', '/sms/{serviceName}/templatesControl',
    { body: (ctx) => ({ name: ctx.p.name, activity: 'authentification', message: 'Your code is 1234',
      description: 'login codes', reason: 'conformance test' }) }],
  ['GET', '/sms/{serviceName}/templatesControl'],
  ['GET', '/sms/{serviceName}/templatesControl/{name}', { needs: ['POST /sms/{serviceName}/templatesControl'] }],
  ['PUT', '/sms/{serviceName}/templatesControl/{name}',
    { body: () => ({ description: 'login codes, updated', message: 'Your code is 5678' }),
      needs: ['POST /sms/{serviceName}/templatesControl'] }],
  ['POST', '/sms/{serviceName}/templatesControl/{name}/relaunchValidation',
    { body: () => ({ description: 'login codes', message: 'Your code is 5678' }),
      needs: ['POST /sms/{serviceName}/templatesControl'] }],
  ['DELETE', '/sms/{serviceName}/templatesControl/{name}', { needs: ['POST /sms/{serviceName}/templatesControl'] }],

  // ---- SMPP: OVH refuses it to a service without SMPP access
  ['GET', '/sms/{serviceName}/smpp/allowedIPs', { mayRefuse: true }],
  ['PUT', '/sms/{serviceName}/smpp/allowedIPs', { body: () => ({ ips: ['192.0.2.1'] }), mayRefuse: true }],
  ['POST', '/sms/{serviceName}/smpp/password', { mayRefuse: true }],
  ['GET', '/sms/{serviceName}/smpp/settings', { mayRefuse: true }],

  // ---- SMS users
  ['POST', '/sms/{serviceName}/users', { body: (ctx) => ({ login: ctx.p.login, password: 'Conf0rmance-pass' }) }],
  ['GET', '/sms/{serviceName}/users'],
  ['GET', '/sms/{serviceName}/users/{login}', { needs: ['POST /sms/{serviceName}/users'] }],
  ['PUT', '/sms/{serviceName}/users/{login}',
    { body: () => ({ quotaInformations: { quotaStatus: 'active', quotaLeft: 100 } }),
      needs: ['POST /sms/{serviceName}/users'] }],
  ['POST', '/sms/{serviceName}/users/{login}/jobs',
    { body: () => ({ ...SMS, receivers: ['+33612341906'] }),
      after: async (ctx, res) => {
        if (!res.json || !Array.isArray(res.json.ids)) return;
        const base = `/sms/${ctx.p.serviceName}/users/${ctx.p.login}`;
        ctx.uOutId = res.json.ids[0];
        ctx.uJobId = (await ctx.call('POST', `${base}/jobs`,
          { ...SMS, receivers: ['+33612341001'], differedPeriod: 1440 })).json?.ids?.[0];
        await ctx.waitDelivered(`${base}/outgoing/${ctx.uOutId}`);
        ctx.uIncId = await ctx.waitIncoming(`${base}/incoming`);
      },
      needs: ['POST /sms/{serviceName}/users'] }],
  ['GET', '/sms/{serviceName}/users/{login}/jobs', { needs: ['POST /sms/{serviceName}/users'] }],
  ['GET', '/sms/{serviceName}/users/{login}/jobs/{id}', { params: (ctx) => ({ id: ctx.uJobId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/jobs'] }],
  ['GET', '/sms/{serviceName}/users/{login}/outgoing', { needs: ['POST /sms/{serviceName}/users'] }],
  ['GET', '/sms/{serviceName}/users/{login}/outgoing/{id}', { params: (ctx) => ({ id: ctx.uOutId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/jobs'] }],
  ['GET', '/sms/{serviceName}/users/{login}/outgoing/{id}/hlr', { params: (ctx) => ({ id: ctx.uOutId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/jobs'] }],
  ['GET', '/sms/{serviceName}/users/{login}/incoming', { needs: ['POST /sms/{serviceName}/users'] }],
  ['GET', '/sms/{serviceName}/users/{login}/incoming/{id}', { params: (ctx) => ({ id: ctx.uIncId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'GET /sms/{serviceName}/users/{login}/incoming'] }],
  ['GET', '/sms/{serviceName}/users/{login}/document', { query: () => ({ wayType: 'outgoing' }),
      needs: ['POST /sms/{serviceName}/users'] }],
  ['POST', '/sms/{serviceName}/users/{login}/receivers',
    { body: (ctx) => ({ slotId: ctx.uSlot, description: 'user slot', autoUpdate: false, documentId: ctx.docId }),
      needs: ['POST /sms/{serviceName}/users'] }],
  ['GET', '/sms/{serviceName}/users/{login}/receivers', { needs: ['POST /sms/{serviceName}/users'] }],
  ['GET', '/sms/{serviceName}/users/{login}/receivers/{slotId}', { params: (ctx) => ({ slotId: ctx.uSlot }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/receivers'] }],
  ['PUT', '/sms/{serviceName}/users/{login}/receivers/{slotId}',
    { params: (ctx) => ({ slotId: ctx.uSlot }), body: () => ({ description: 'updated' }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/receivers'] }],
  ['GET', '/sms/{serviceName}/users/{login}/receivers/{slotId}/csv', { params: (ctx) => ({ slotId: ctx.uSlot }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/receivers'] }],
  ['POST', '/sms/{serviceName}/users/{login}/receivers/{slotId}/clean',
    { params: (ctx) => ({ slotId: ctx.uSlot }), body: () => ({ freemium: true, priceOnly: false }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/receivers'] }],
  ['DELETE', '/sms/{serviceName}/users/{login}/receivers/{slotId}', { params: (ctx) => ({ slotId: ctx.uSlot }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/receivers'] }],
  ['DELETE', '/sms/{serviceName}/users/{login}/incoming/{id}', { params: (ctx) => ({ id: ctx.uIncId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'GET /sms/{serviceName}/users/{login}/incoming'] }],
  ['DELETE', '/sms/{serviceName}/users/{login}/outgoing/{id}', { params: (ctx) => ({ id: ctx.uOutId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/jobs'] }],
  ['DELETE', '/sms/{serviceName}/users/{login}/jobs/{id}', { params: (ctx) => ({ id: ctx.uJobId ?? 1 }),
      needs: ['POST /sms/{serviceName}/users', 'POST /sms/{serviceName}/users/{login}/jobs'] }],
  ['DELETE', '/sms/{serviceName}/users/{login}', { needs: ['POST /sms/{serviceName}/users'] }],

  // ---- virtual numbers (given by the operator)
  ['GET', '/sms/virtualNumbers',
    { before: (ctx) => ctx.srv.smsctlOk(['number', 'add', ctx.p.serviceName, '+' + ctx.p.number]) }],
  ['GET', '/sms/virtualNumbers/{number}'],
  ['GET', '/sms/virtualNumbers/{number}/serviceInfos'],
  ['PUT', '/sms/virtualNumbers/{number}/serviceInfos',
    { body: () => ({ renew: { automatic: false } }), mayRefuse: true }], // managed by the operator
  ['GET', '/sms/{serviceName}/virtualNumbers'],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}'],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/chatAccess', { mayRefuse: true }], // no web chat
  ['POST', '/sms/{serviceName}/virtualNumbers/{number}/chatAccess', { mayRefuse: true }],
  ['DELETE', '/sms/{serviceName}/virtualNumbers/{number}/chatAccess', { mayRefuse: true }],
  ['POST', '/sms/{serviceName}/virtualNumbers/{number}/jobs',
    { body: () => ({ message: 'From a number', receivers: ['+33612342906'], tag: 'conf' }),
      after: async (ctx, res) => {
        const base = `/sms/${ctx.p.serviceName}/virtualNumbers/${ctx.p.number}`;
        ctx.vOutId = res.json.ids[0];
        ctx.vJobId = (await ctx.call('POST', `${base}/jobs`,
          { message: 'Later', receivers: ['+33612342001'], differedPeriod: 1440 })).json.ids[0];
        await ctx.waitDelivered(`${base}/outgoing/${ctx.vOutId}`);
        ctx.vIncId = await ctx.waitIncoming(`${base}/incoming`);
      } }],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/jobs'],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/jobs/{id}', { params: (ctx) => ({ id: ctx.vJobId }) }],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/outgoing'],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/outgoing/{id}', { params: (ctx) => ({ id: ctx.vOutId }) }],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/outgoing/{id}/hlr', { params: (ctx) => ({ id: ctx.vOutId }) }],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/incoming'],
  ['GET', '/sms/{serviceName}/virtualNumbers/{number}/incoming/{id}', { params: (ctx) => ({ id: ctx.vIncId }) }],
  ['DELETE', '/sms/{serviceName}/virtualNumbers/{number}/incoming/{id}', { params: (ctx) => ({ id: ctx.vIncId }) }],
  ['DELETE', '/sms/{serviceName}/virtualNumbers/{number}/outgoing/{id}', { params: (ctx) => ({ id: ctx.vOutId }) }],
  ['DELETE', '/sms/{serviceName}/virtualNumbers/{number}/jobs/{id}', { params: (ctx) => ({ id: ctx.vJobId }) }],

  // ---- deletions of the service's fixtures, last
  ['DELETE', '/sms/{serviceName}/incoming/{id}', { params: (ctx) => ({ id: ctx.incId }) }],
  ['DELETE', '/sms/{serviceName}/outgoing/{id}', { params: (ctx) => ({ id: ctx.outId }) }],
  ['DELETE', '/sms/{serviceName}/jobs/{id}', { params: (ctx) => ({ id: ctx.jobId }) }],
  ['DELETE', '/sms/{serviceName}/blacklists/{number}', { params: (ctx) => ({ number: ctx.blacklisted }) }],
  ['DELETE', '/sms/{serviceName}/receivers/{slotId}', { needs: ['POST /sms/{serviceName}/receivers'] }],
  ['DELETE', '/sms/{serviceName}/batches/{id}', { params: (ctx) => ({ id: ctx.batchId }),
      needs: ['POST /sms/{serviceName}/batches'] }],
  ['DELETE', '/sms/{serviceName}/senders/{sender}/documents/{documentID}', { skipUnlessInSchema: true,
      needs: ['POST /sms/{serviceName}/senders/{sender}/documents'] }],
  ['DELETE', '/sms/{serviceName}/senders/{sender}'],
];

describe('conformance to OVH\'s schema of /sms', { skip: schemaMissing(), timeout: 300000 }, () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { if (srv) await srv.finish(); });

  test('every operation of the schema has one recipe', () => {
    const ops = schema.apis.flatMap((a) => a.operations.map((o) => `${o.httpMethod} ${a.path}`));
    assert.equal(ops.length, 124, 'OVH\'s schema of /sms has 124 operations');
    const recipes = RECIPES.filter(([m, p, o]) => !(o && o.skipUnlessInSchema && !ops.includes(`${m} ${p}`)))
      .map(([m, p]) => `${m} ${p}`);
    assert.deepEqual([...recipes].sort(), [...ops].sort());
  });

  test('every operation answers as its model says', { timeout: 240000 }, async () => {
    const keys = srv.createAccount(uniq('conform'), 1000);
    const other = srv.createAccount(uniq('conform-other'), 10);
    const ops = new Set(schema.apis.flatMap((a) => a.operations.map((o) => `${o.httpMethod} ${a.path}`)));
    const call = (method, p, body, query) => srv.raw({ method, path: p, keys, body, query });
    const ctx = {
      srv, keys, other, call,
      p: { serviceName: keys.serviceName, sender: 'CONFORM', login: 'conformuser', number: '33700000099',
        slotId: 1, bookKey: 'none', name: 'conftemplate', documentID: '00000000-0000-4000-8000-000000000000' },
      uSlot: 2,
      blacklisted: '+33655000077',
      // A /me/document holding text: its id.
      async document(name, text) {
        const doc = (await call('POST', '/me/document', { name })).json;
        const url = new URL(doc.putUrl);
        const put = await srv.raw({ method: 'PUT', target: url.pathname, body: text,
          headers: { 'Content-Type': 'text/csv' } });
        assert.ok(put.status < 300, `upload: ${put.status} ${put.text}`);
        return doc.id;
      },
      async waitDelivered(p) {
        await waitFor(async () => (await call('GET', p)).json?.deliveryReceipt === 1,
          { what: `${p} delivered`, timeoutMs: 15000 });
      },
      // The first incoming SMS listed at p once one is (the sim's 906 reply), or undefined.
      async waitIncoming(p) {
        let ids = [];
        await waitFor(async () => {
          const r = await call('GET', p);
          if (r.status !== 200) return true;
          ids = r.json;
          return ids.length > 0;
        }, { what: `a reply at ${p}`, timeoutMs: 15000 }).catch(() => {});
        return ids[0];
      },
    };
    const implemented = [], missing = [], failures = [], unchecked = [];
    const good = new Set(); // operations answered right (2xx as their model says)
    artefactsFound.length = 0;
    for (const [method, apiPath, o = {}] of RECIPES) {
      const op = `${method} ${apiPath}`;
      if (!ops.has(op)) continue;
      try {
        if (o.before) await o.before(ctx);
        const lacking = (o.needs || []).filter((n) => !good.has(n));
        const values = { ...ctx.p, ...(o.params ? o.params(ctx) : {}) };
        const unknown = (apiPath.match(/\{\w+\}/g) || []).filter((k) => values[k.slice(1, -1)] === undefined);
        // A fixture that could not be made: the call still tells whether the route exists.
        if (lacking.length) for (const k of unknown) values[k.slice(1, -1)] = '0';
        else assert.deepEqual(unknown, [], `${op}: no value for its path parameters`);
        const target = apiPath.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(String(values[k])));
        const res = await call(method, target, o.body ? o.body(ctx) : undefined, o.query ? o.query(ctx) : undefined);
        if (NOT_IMPLEMENTED(res)) {
          missing.push(`${op} (${res.status})`);
          continue;
        }
        implemented.push(op);
        const artefacts = floatArtefacts(res.text);
        if (artefacts.length) artefactsFound.push(`${op}: ${[...new Set(artefacts)].join(', ')}`);
        const mayRefuse = typeof o.mayRefuse === 'function' ? o.mayRefuse(ctx) : !!o.mayRefuse;
        if (res.status >= 400) {
          const okBody = res.json && typeof res.json.message === 'string';
          if (okBody && !mayRefuse && lacking.length) unchecked.push(`${op} (needs ${lacking.join(', ')})`);
          else if (!mayRefuse || !okBody) failures.push(`${op} -> ${target}: ${res.status} ${res.text.slice(0, 200)}`);
          continue;
        }
        if (res.status >= 300) {
          failures.push(`${op}: status ${res.status}`);
          continue;
        }
        try {
          checkResponse(schema, method, apiPath, res.text.length ? res.json : null, { allowExtra: true });
          good.add(op);
        } catch (e) {
          failures.push(`${op}: ${e.message}`);
        }
        if (o.after) await o.after(ctx, res);
      } catch (e) {
        failures.push(`${op}: ${e.message}`);
      }
    }
    console.log(`# conformance: ${implemented.length} of ${ops.size} operations implemented`);
    console.log(`# not implemented (${missing.length}):\n${missing.map((m) => `#   ${m}`).join('\n')}`);
    if (unchecked.length) console.log(`# not checked, a fixture missing (${unchecked.length}):\n${unchecked.map((m) => `#   ${m}`).join('\n')}`);
    if (failures.length) console.log(`# wrong answers (${failures.length}):\n${failures.map((m) => `#   ${m}`).join('\n')}`);
    answered = true;
    assert.equal(implemented.length + missing.length, ops.size);
    assert.deepEqual(failures, [], 'every implemented operation answers as its model says');
    assert.ok(implemented.length >= MIN_IMPLEMENTED,
      `${implemented.length} operations implemented, fewer than ${MIN_IMPLEMENTED}`);
  });

  test('no JSON answer carries a binary-float artefact', () => {
    assert.ok(answered, 'the operations were called');
    if (artefactsFound.length) console.log(`# binary-float artefacts:\n${artefactsFound.map((m) => `#   ${m}`).join('\n')}`);
    assert.deepEqual(artefactsFound, []);
  });

  test('the artefact check itself', () => {
    assert.deepEqual(floatArtefacts('{"value":0.14000000000000001,"n":12,"x":"0.30000000000000004"}'),
      ['0.14000000000000001']);
    assert.deepEqual(floatArtefacts('[0.14,1.5,-2,1e-05,100]'), ['1e-05']);
  });
});
