// phonebooks.test.mjs - phonebooks and their contacts (docs/phonebooks.md, issue 15 point 5),
// the 12 operations through the official SDK, each answer checked against OVH's schema:
//   * books: create (a bookKey), list, get (sms.Phonebook), rename, delete (contacts too);
//   * contacts: create (numbers normalised to E.164; bad numbers 400), list, get
//     (sms.PhonebookContact, unset numbers null), partial PUT (null clears a number), delete;
//   * CSV export into /me/document (telephony.PcsFile, its url serves the CSV) and import of a
//     CSV document (telephony.Task: rows added, rows refused and why); an export imports back
//     unchanged into another book;
//   * a service never sees another's books; errors are OVH error bodies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from './lib/test.mjs';

import { assertOvhError, sdkError, startServer, uniq, urlRequest } from './lib/harness.mjs';
import { checkModel, checkResponse, loadSchema } from './lib/ovhschema.mjs';

const schema = loadSchema();
const SCHEMA = {}; // answers checked against OVH's schema where it is (lib/ovhschema.mjs)

describe('phonebooks', () => {
  let srv, keys, sn, client;
  const P = (p = '') => `/sms/${sn}/phonebooks${p}`;

  before(async () => {
    srv = await startServer();
    keys = srv.createAccount(uniq('pb'), 1);
    sn = keys.serviceName;
    client = srv.sdk(keys);
  });
  after(async () => { await srv?.finish(); });

  // Uploads text as a /me/document; returns its id.
  async function upload(c, name, text) {
    const doc = await c.requestPromised('POST', '/me/document', { name, tags: [] });
    const up = await urlRequest('PUT', doc.putUrl, text, 'text/csv');
    assert.equal(up.status, 200, up.text);
    return doc.id;
  }

  test('books: create, list, get, rename, delete', SCHEMA, async () => {
    const key = await client.requestPromised('POST', P(), { name: 'Friends' });
    checkResponse(schema, 'POST', '/sms/{serviceName}/phonebooks', key);
    assert.match(key, /^[0-9a-f]{16}$/);
    const key2 = await client.requestPromised('POST', P(), { name: 'Work' });
    const list = await client.requestPromised('GET', P());
    checkResponse(schema, 'GET', '/sms/{serviceName}/phonebooks', list);
    assert.deepEqual(list, [key, key2]);

    const book = await client.requestPromised('GET', P(`/${key}`));
    checkResponse(schema, 'GET', '/sms/{serviceName}/phonebooks/{bookKey}', book);
    checkModel(schema, 'sms.Phonebook', book);
    assert.equal(book.bookKey, key);
    assert.equal(book.name, 'Friends');
    assert.match(book.phoneKey, /^[0-9a-f]{16}$/);

    assert.equal(await client.requestPromised('PUT', P(`/${key}`), { name: 'Old friends' }), null);
    const renamed = await client.requestPromised('GET', P(`/${key}`));
    assert.deepEqual(renamed, { ...book, name: 'Old friends' });

    assert.equal(await client.requestPromised('DELETE', P(`/${key2}`)), null);
    assert.deepEqual(await client.requestPromised('GET', P()), [key]);
    for (const [m, body] of [['GET'], ['DELETE'], ['PUT', { name: 'x' }]]) {
      const e = await sdkError(client.requestPromised(m, P(`/${key2}`), body));
      assert.equal(e.error, 404, m);
    }
  });

  test('contacts: create, list, get, partial PUT, delete', SCHEMA, async () => {
    const key = await client.requestPromised('POST', P(), { name: 'Contacts' });
    const C = (p = '') => P(`/${key}/phonebookContact${p}`);
    const id = await client.requestPromised('POST', C(), {
      group: 'family', name: 'Martin', surname: 'Alice', homeMobile: '06 12 34 56 78',
      workPhone: '+33491123456',
    });
    checkResponse(schema, 'POST', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact', id);
    assert.ok(Number.isInteger(id) && id > 0);
    const id2 = await client.requestPromised('POST', C(), { group: '', name: 'Durand', surname: 'Bob',
      workMobile: '+14155552671' });
    const ids = await client.requestPromised('GET', C());
    checkResponse(schema, 'GET', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact', ids);
    assert.deepEqual(ids, [id, id2]);

    const k = await client.requestPromised('GET', C(`/${id}`));
    checkResponse(schema, 'GET', '/sms/{serviceName}/phonebooks/{bookKey}/phonebookContact/{id}', k);
    checkModel(schema, 'sms.PhonebookContact', k);
    assert.deepEqual(k, { id, group: 'family', name: 'Martin', surname: 'Alice',
      homeMobile: '+33612345678', homePhone: null, workMobile: null, workPhone: '+33491123456' });

    // Partial PUT: given fields change, null clears a number, the others stay.
    assert.equal(await client.requestPromised('PUT', C(`/${id}`), { surname: 'Alicia',
      homePhone: '0142345678' }), null);
    // (the SDK leaves nulls out: a hand-signed request)
    const res = await srv.raw({ method: 'PUT', path: C(`/${id}`), keys, body: { workPhone: null } });
    assert.equal(res.status, 200, res.text);
    const k2 = await client.requestPromised('GET', C(`/${id}`));
    assert.deepEqual(k2, { ...k, surname: 'Alicia', homePhone: '+33142345678', workPhone: null });

    let e = await sdkError(client.requestPromised('POST', C(), { group: 'g', name: 'n', surname: 's',
      homeMobile: 'not a number' }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'homeMobile'/);
    e = await sdkError(client.requestPromised('POST', C(), { name: 'n', surname: 's' }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'group'/);
    e = await sdkError(client.requestPromised('PUT', C(`/${id}`), { workMobile: '123' }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'workMobile'/);

    assert.equal(await client.requestPromised('DELETE', C(`/${id2}`)), null);
    assert.deepEqual(await client.requestPromised('GET', C()), [id]);
    for (const p of [C(`/${id2}`), C('/abc'), P(`/nosuchbook/phonebookContact/${id}`)]) {
      e = await sdkError(client.requestPromised('GET', p));
      assert.equal(e.error, 404, p);
    }

    // Deleting the book deletes its contacts.
    await client.requestPromised('DELETE', P(`/${key}`));
    const left = srv.sql(`SELECT COUNT(*) AS n FROM phonebook_contacts WHERE id = ${id}`);
    assert.equal(left[0].n, 0);
  });

  test('CSV import from /me/document, export into one, and the export imports back unchanged', SCHEMA, async () => {
    const key = await client.requestPromised('POST', P(), { name: 'Imported' });
    const csv = '\ufeffName;Surname;Group;homeMobile;homePhone;workMobile;workPhone;comment\r\n'
      + 'Martin;Alice;family;0612345678;;;;x\r\n'
      + '"Dupont; fils";Jean;"work ""A""";;+33142345678;+33611111111;;\r\n'
      + 'Nobody;;;;;;;no phone\r\n'
      + 'Bad;Number;;12;;;;\r\n'
      + ';;;+33622222222;;;;no name\r\n'
      + 'Smith;John;;+14155552671;;;;\r\n';
    const docId = await upload(client, 'contacts.csv', csv);
    const task = await client.requestPromised('POST', P(`/${key}/import`), { documentId: docId });
    checkResponse(schema, 'POST', '/sms/{serviceName}/phonebooks/{bookKey}/import', task);
    checkModel(schema, 'telephony.Task', task);
    assert.equal(task.status, 'done');
    assert.ok(task.taskId > 0);
    assert.match(task.message, /^3 contacts imported, 3 rows refused \(first: line 4: no phone number is given\)$/);

    const ids = await client.requestPromised('GET', P(`/${key}/phonebookContact`));
    assert.equal(ids.length, 3);
    const got = await Promise.all(ids.map((i) => client.requestPromised('GET', P(`/${key}/phonebookContact/${i}`))));
    assert.deepEqual(got.map(({ id, ...rest }) => rest), [
      { name: 'Martin', surname: 'Alice', group: 'family', homeMobile: '+33612345678', homePhone: null,
        workMobile: null, workPhone: null },
      { name: 'Dupont; fils', surname: 'Jean', group: 'work "A"', homeMobile: null,
        homePhone: '+33142345678', workMobile: '+33611111111', workPhone: null },
      { name: 'Smith', surname: 'John', group: '', homeMobile: '+14155552671', homePhone: null,
        workMobile: null, workPhone: null },
    ]);

    const file = await client.requestPromised('GET', P(`/${key}/export`), { format: 'csv' });
    checkResponse(schema, 'GET', '/sms/{serviceName}/phonebooks/{bookKey}/export', file);
    checkModel(schema, 'telephony.PcsFile', file);
    assert.equal(file.status, 'done');
    assert.equal(file.filename, `phonebook-${key}.csv`);
    assert.ok(Date.parse(file.urlExpirationDatetime) > Date.now());
    const body = await urlRequest('GET', file.url);
    assert.equal(body.status, 200);
    assert.equal(body.text, 'name;surname;group;homeMobile;homePhone;workMobile;workPhone\r\n'
      + 'Martin;Alice;family;+33612345678;;;\r\n'
      + '"Dupont; fils";Jean;"work ""A""";;+33142345678;+33611111111;\r\n'
      + 'Smith;John;;+14155552671;;;\r\n');
    // the export is one of the account's documents
    const docs = await client.requestPromised('GET', '/me/document');
    assert.ok(docs.some((d) => file.url.includes(d)), JSON.stringify(docs));

    // Round trip: the export imported into a new book gives the same contacts.
    const copy = await client.requestPromised('POST', P(), { name: 'Copy' });
    const back = await upload(client, 'back.csv', body.text);
    const t2 = await client.requestPromised('POST', P(`/${copy}/import`), { documentId: back });
    assert.equal(t2.message, '3 contacts imported, 0 rows refused');
    assert.notEqual(t2.taskId, task.taskId);
    const ids2 = await client.requestPromised('GET', P(`/${copy}/phonebookContact`));
    const got2 = await Promise.all(ids2.map((i) => client.requestPromised('GET', P(`/${copy}/phonebookContact/${i}`))));
    assert.deepEqual(got2.map(({ id, ...rest }) => rest), got.map(({ id, ...rest }) => rest));
  });

  test('import and export errors', async () => {
    const key = await client.requestPromised('POST', P(), { name: 'Errors' });
    let e = await sdkError(client.requestPromised('POST', P(`/${key}/import`), { documentId: '00000000-0000-0000-0000-000000000000' }));
    assert.equal(e.error, 404);
    const noHeader = await upload(client, 'bad.csv', '+33612345678;Alice\n');
    e = await sdkError(client.requestPromised('POST', P(`/${key}/import`), { documentId: noHeader }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'documentId': the first line must name the columns/);
    const open = await upload(client, 'open.csv', 'name;homeMobile\n"Alice;+33612345678\n');
    e = await sdkError(client.requestPromised('POST', P(`/${key}/import`), { documentId: open }));
    assert.equal(e.error, 400);
    assert.match(e.message, /quoted field/);
    assert.deepEqual(await client.requestPromised('GET', P(`/${key}/phonebookContact`)), []);
    e = await sdkError(client.requestPromised('GET', P(`/${key}/export`), { format: 'vcard' }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'format'/);
    const res = await srv.raw({ method: 'GET', path: P(`/${key}/export`), keys });
    assertOvhError(res, 400, { message: /Missing parameter 'format'/ });
    e = await sdkError(client.requestPromised('GET', P('/nosuchbook/export'), { format: 'csv' }));
    assert.equal(e.error, 404);
    e = await sdkError(client.requestPromised('POST', P(), { name: '' }));
    assert.equal(e.error, 400);
    assert.match(e.message, /'name'/);
  });

  test("another service's books and contacts are 404 and never listed", async () => {
    const key = await client.requestPromised('POST', P(), { name: 'Private' });
    const id = await client.requestPromised('POST', P(`/${key}/phonebookContact`), { group: 'g',
      name: 'n', surname: 's', homeMobile: '+33612345678' });
    const k = srv.createAccount(uniq('intruder'), 1);
    const c = srv.sdk(k);
    const Q = (p) => `/sms/${k.serviceName}/phonebooks${p}`;
    assert.deepEqual(await c.requestPromised('GET', Q('')), []);
    for (const [m, p, body] of [['GET', `/${key}`], ['PUT', `/${key}`, { name: 'mine' }],
      ['DELETE', `/${key}`], ['GET', `/${key}/phonebookContact`],
      ['GET', `/${key}/phonebookContact/${id}`], ['DELETE', `/${key}/phonebookContact/${id}`],
      ['GET', `/${key}/export?format=csv`]]) {
      const e = await sdkError(c.requestPromised(m, Q(p), body));
      assert.equal(e.error, 404, `${m} ${p}`);
    }
    assert.equal((await client.requestPromised('GET', P(`/${key}`))).name, 'Private');
    assert.equal((await client.requestPromised('GET', P(`/${key}/phonebookContact/${id}`))).name, 'n');
  });
});
