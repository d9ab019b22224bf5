// lib/run.mjs - runs test files in parallel, each in its own node process, with a watchdog.
//
//   node lib/run.mjs FILE...        (tests/run-integration calls it; see there)
//
// Why not `node --test --test-concurrency=N --test-timeout=MS`: Debian 12's Node 18.19 knows
// neither flag, and the suite must pass with the Node the README's commands install. So this
// script does the two things those flags did: it runs SMSGATE_TEST_CONCURRENCY files at once
// (default 4), and it kills a file still running after SMSGATE_TEST_FILE_TIMEOUT_S seconds
// (default 1200) and counts it as failed. Per-test timeouts are set by lib/test.mjs.
//
// Each file runs as `node --test --test-reporter=tap FILE`; its output is buffered and printed
// whole when it ends, so that the files' lines do not interleave. The TAP summary lines of each
// file (# tests, # pass, # fail, ...) are added up and printed at the end in the same form, then
// one plain line "integration: N passed, N failed[, N skipped]". The exit status is 0 only if
// every file exited 0.
import { spawn } from 'node:child_process';
import path from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) {
    console.error('run.mjs: no test file given');
    process.exit(2);
}
const concurrency = Math.max(1, Number(process.env.SMSGATE_TEST_CONCURRENCY) || 4);
const fileTimeoutMs = (Number(process.env.SMSGATE_TEST_FILE_TIMEOUT_S) || 1200) * 1000;
const KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
const total = Object.fromEntries(KEYS.map((k) => [k, 0]));
const results = [];

// Runs one file; resolves { file, code, ms, timedOut, counts }.
function runFile(file) {
    return new Promise((resolve) => {
        const started = Date.now();
        const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], {
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true, // its own process group: the watchdog kills the file's children too
        });
        const chunks = [];
        child.stdout.on('data', (b) => chunks.push(b));
        child.stderr.on('data', (b) => chunks.push(b));
        let timedOut = false;
        const watchdog = setTimeout(() => {
            timedOut = true;
            try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
        }, fileTimeoutMs);
        child.on('close', (code, signal) => {
            clearTimeout(watchdog);
            const out = Buffer.concat(chunks).toString('utf8');
            // The last value of each summary key: with --test, node prints the file's own
            // summary last (top-level lines, no indentation).
            const counts = {};
            for (const m of out.matchAll(/^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm))
                counts[m[1]] = Number(m[2]);
            if (counts.tests === undefined) {
                // Killed before its summary: count its top-level results as far as they went.
                counts.pass = (out.match(/^ok \d+ /gm) || []).length;
                counts.fail = (out.match(/^not ok \d+ /gm) || []).length;
                counts.tests = counts.pass + counts.fail;
            }
            resolve({ file, code: code ?? 128, signal, ms: Date.now() - started, timedOut, counts, out });
        });
    });
}

function report(r) {
    const name = path.relative(process.cwd(), r.file) || r.file;
    process.stdout.write(`\n== ${name} (${(r.ms / 1000).toFixed(1)} s, exit ${r.signal ?? r.code})\n`);
    process.stdout.write(r.out.endsWith('\n') || r.out === '' ? r.out : `${r.out}\n`);
    if (r.timedOut)
        process.stdout.write(`not ok - ${name} killed after ${fileTimeoutMs / 1000} s (SMSGATE_TEST_FILE_TIMEOUT_S)\n`);
}

const queue = [...files];
async function worker() {
    while (queue.length > 0) {
        const r = await runFile(queue.shift());
        results.push(r);
        report(r);
    }
}
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

let failedFiles = 0;
for (const r of results) {
    for (const k of KEYS) total[k] += r.counts[k] ?? 0;
    if (r.code !== 0 || r.timedOut) {
        failedFiles++;
        // A file that died without its summary (crash, watchdog) still counts as a failure.
        if (!(r.counts.fail > 0)) total.fail += 1;
    }
}
process.stdout.write('\n== slowest files\n');
for (const r of [...results].sort((a, b) => b.ms - a.ms).slice(0, 5))
    process.stdout.write(`   ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${path.basename(r.file)}\n`);
process.stdout.write(`\n# files ${results.length}\n`);
for (const k of KEYS) process.stdout.write(`# ${k} ${total[k]}\n`);
const skipped = total.skipped + total.todo;
process.stdout.write(`integration: ${total.pass} passed, ${total.fail + total.cancelled} failed` +
    (skipped ? `, ${skipped} skipped` : '') + '\n');
process.exit(failedFiles === 0 ? 0 : 1);
