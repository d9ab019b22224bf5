// lib/ovhschema.mjs - checks answers against OVH's own schema of the /sms API (ovh-sms.json,
// the "apis" and "models" that api.ovh.com publishes for /1.0/sms).
//
//   import { loadSchema, schemaMissing, checkModel, checkResponse } from './lib/ovhschema.mjs';
//   const schema = loadSchema();                      // null when the file is not there
//   test('...', async () => {
//       checkModel(schema, 'sms.VirtualNumber', await client.requestPromised('GET', path));
//       checkResponse(schema, 'GET', '/sms/{serviceName}/virtualNumbers', list);
//   });
//
// checkModel(schema, name, value) throws an AssertionError naming the first field that is
// wrong: every property of the model must be present (a key of the object, even when its
// value is null), of its type, null only where the schema says canBeNull, and (unless
// { allowExtra: true }) the object has no field the model lacks, since OVH's clients read
// exactly these. Types: string, text, password, internationalPhoneNumber, phoneNumber, ip
// (strings); long (an integer), double (a number); boolean; datetime (ISO 8601 with a zone
// offset or Z, as OVH writes them); date (YYYY-MM-DD); uuid; T[] (arrays, each element
// checked); map[string]T (an object, each value checked); an enum model (a string among its
// values); an object model (checked the same way, recursively). A type this file does not
// know fails the check rather than passing silently: add it here.
//
// checkResponse(schema, method, path, value) finds the operation (path as the schema writes
// it, '/sms/{serviceName}/virtualNumbers/{number}') and checks value against its
// responseType ('void' answers null). operation(schema, method, path) returns the operation
// itself (parameters, responseType) and fails when the schema has no such operation.
//
// Where the file is: SMSGATE_OVH_SCHEMA (alone when set), else spec/ovh-sms.json in the directory next to the
// repository's (the layout of the project's machines, `../shared/spec/ovh-sms.json` as the
// issues name it), else /work/shared/spec/ovh-sms.json. The schema is OVH's, not ours, so it is
// not in the repository. Without it (a fresh clone on another machine) checkType, checkModel
// and checkResponse check nothing and say so once on stderr, and the tests around them still
// run everything else they assert; only a test that is nothing but the schema (the conformance
// test) skips, with { skip: schemaMissing() }, the reason shown in the run's output.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function schemaPath() {
    // Set, it is the only place looked at (SMSGATE_OVH_SCHEMA=none: run as without the file).
    if (process.env.SMSGATE_OVH_SCHEMA) {
        return fs.existsSync(process.env.SMSGATE_OVH_SCHEMA) ? process.env.SMSGATE_OVH_SCHEMA : null;
    }
    const candidates = [
        path.resolve(ROOT, '..', 'shared', 'spec', 'ovh-sms.json'),
        path.resolve(ROOT, '..', '..', 'shared', 'spec', 'ovh-sms.json'),
        '/work/shared/spec/ovh-sms.json',
    ].filter(Boolean);
    return candidates.find((p) => fs.existsSync(p)) || null;
}

let cached;
export function loadSchema() {
    if (cached === undefined) {
        const p = schemaPath();
        cached = p ? JSON.parse(fs.readFileSync(p, 'utf8')) : null;
    }
    return cached;
}

// For test options: false when the schema is there, else the reason to skip.
export function schemaMissing() {
    return loadSchema() ? false : 'OVH schema ovh-sms.json not found (set SMSGATE_OVH_SCHEMA)';
}

const STRINGS = new Set(['string', 'text', 'password', 'internationalPhoneNumber', 'phoneNumber', 'ip']);
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fail(where, msg) {
    assert.fail(`${where}: ${msg}`);
}

let warned = false;
function absent(schema) {
    if (schema) return false;
    if (!warned) {
        warned = true;
        process.stderr.write(`ovhschema: ${schemaMissing()}: answers not checked against it\n`);
    }
    return true;
}

// Checks value (not null: the caller handled null) against type; where names it in errors.
export function checkType(schema, type, value, where = 'value', opts = {}) {
    if (absent(schema)) return;
    if (type.endsWith('[]')) {
        if (!Array.isArray(value)) fail(where, `expected ${type}, got ${JSON.stringify(value)}`);
        value.forEach((v, i) => {
            if (v === null) fail(`${where}[${i}]`, 'null in an array');
            checkType(schema, type.slice(0, -2), v, `${where}[${i}]`, opts);
        });
        return;
    }
    const map = /^map\[string\](.+)$/.exec(type);
    if (map) {
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
            fail(where, `expected ${type}, got ${JSON.stringify(value)}`);
        }
        for (const [k, v] of Object.entries(value)) checkType(schema, map[1], v, `${where}.${k}`, opts);
        return;
    }
    if (STRINGS.has(type)) {
        if (typeof value !== 'string') fail(where, `expected ${type} (a string), got ${JSON.stringify(value)}`);
        return;
    }
    switch (type) {
    case 'long':
    case 'int':
        if (!Number.isInteger(value)) fail(where, `expected ${type} (an integer), got ${JSON.stringify(value)}`);
        return;
    case 'double':
        if (typeof value !== 'number' || !Number.isFinite(value)) {
            fail(where, `expected double (a number), got ${JSON.stringify(value)}`);
        }
        return;
    case 'boolean':
        if (typeof value !== 'boolean') fail(where, `expected boolean, got ${JSON.stringify(value)}`);
        return;
    case 'datetime':
        if (typeof value !== 'string' || !DATETIME.test(value) || Number.isNaN(Date.parse(value))) {
            fail(where, `expected datetime (ISO 8601 with a zone), got ${JSON.stringify(value)}`);
        }
        return;
    case 'date':
        if (typeof value !== 'string' || !DATE.test(value)) fail(where, `expected date, got ${JSON.stringify(value)}`);
        return;
    case 'uuid':
        if (typeof value !== 'string' || !UUID.test(value)) fail(where, `expected uuid, got ${JSON.stringify(value)}`);
        return;
    default:
        break;
    }
    const model = schema.models[type];
    if (!model) fail(where, `type ${type} unknown to ovhschema.mjs and to the schema`);
    if (model.enum) {
        if (!model.enum.includes(value)) {
            fail(where, `${JSON.stringify(value)} is not one of ${type}: ${model.enum.join(', ')}`);
        }
        return;
    }
    checkModel(schema, type, value, { ...opts, where });
}

// Checks obj against the object model name (e.g. 'sms.VirtualNumber').
export function checkModel(schema, name, obj, opts = {}) {
    if (absent(schema)) return;
    const where = opts.where || name;
    const model = schema.models[name];
    if (!model || !model.properties) fail(where, `no object model ${name} in the schema`);
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
        fail(where, `expected an object ${name}, got ${JSON.stringify(obj)}`);
    }
    for (const [field, prop] of Object.entries(model.properties)) {
        const at = `${where}.${field}`;
        if (!Object.prototype.hasOwnProperty.call(obj, field)) fail(at, `missing (${prop.type})`);
        const v = obj[field];
        if (v === null || v === undefined) {
            if (!prop.canBeNull) fail(at, `null, but ${name}.${field} cannot be null`);
            continue;
        }
        checkType(schema, prop.type, v, at, opts);
    }
    if (!opts.allowExtra) {
        const extra = Object.keys(obj).filter((k) => !(k in model.properties));
        if (extra.length) fail(where, `fields not in ${name}: ${extra.join(', ')}`);
    }
}

export function operation(schema, method, apiPath) {
    const api = schema.apis.find((a) => a.path === apiPath);
    if (!api) fail(`${method} ${apiPath}`, 'no such path in the schema');
    const op = api.operations.find((o) => o.httpMethod === method.toUpperCase());
    if (!op) fail(`${method} ${apiPath}`, 'no such operation in the schema');
    return op;
}

// Checks an answer against the responseType of the schema's operation.
export function checkResponse(schema, method, apiPath, value, opts = {}) {
    if (absent(schema)) return;
    const op = operation(schema, method, apiPath);
    const where = `${method} ${apiPath}`;
    if (op.responseType === 'void') {
        if (value !== null && value !== undefined && value !== '') fail(where, `void, got ${JSON.stringify(value)}`);
        return;
    }
    if (value === null || value === undefined) fail(where, `null, expected ${op.responseType}`);
    checkType(schema, op.responseType, value, where, opts);
}
