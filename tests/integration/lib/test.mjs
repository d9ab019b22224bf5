// lib/test.mjs - node:test with a default timeout on every test and hook.
//
// The suite runs on the Node.js each machine has, down to Debian 12's own 18.19, whose runner
// knows neither --test-timeout nor --test-concurrency. A test that hangs must still fail, and
// name itself, instead of holding the whole run until the runner's per-file watchdog
// (tests/run-integration) kills the file: so every test and hook imported from here gets
// SMSGATE_TEST_TIMEOUT_MS (default 120 s) unless its options give a timeout of their own.
//
// Test files import { after, before, describe, test, ... } from './lib/test.mjs' instead of
// 'node:test'; describe() is left as node:test has it (a suite's timeout is the sum of its
// tests', which the per-test default already bounds).
import * as nt from 'node:test';

export const DEFAULT_TIMEOUT_MS = Number(process.env.SMSGATE_TEST_TIMEOUT_MS) || 120000;

// Accepts node:test's forms (fn), (name, fn), (options, fn), (name, options, fn) and returns
// the same arguments with options.timeout filled in when it was absent.
function withTimeout(args) {
    const out = [...args];
    const fnAt = out.findIndex((a) => typeof a === 'function');
    const optAt = out.findIndex((a) => a !== null && typeof a === 'object');
    if (optAt >= 0) {
        if (out[optAt].timeout === undefined) out[optAt] = { ...out[optAt], timeout: DEFAULT_TIMEOUT_MS };
    } else {
        const at = fnAt >= 0 ? fnAt : out.length;
        out.splice(at, 0, { timeout: DEFAULT_TIMEOUT_MS });
    }
    return out;
}

// Hooks take (fn, options).
function hookWithTimeout(hook) {
    return (fn, options = {}) =>
        hook(fn, options.timeout === undefined ? { ...options, timeout: DEFAULT_TIMEOUT_MS } : options);
}

export function test(...args) { return nt.test(...withTimeout(args)); }
export const it = test;
export const describe = nt.describe;
export const before = hookWithTimeout(nt.before);
export const after = hookWithTimeout(nt.after);
export const beforeEach = hookWithTimeout(nt.beforeEach);
export const afterEach = hookWithTimeout(nt.afterEach);
