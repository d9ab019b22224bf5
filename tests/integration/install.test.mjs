// install.test.mjs - smsgate installed as a daemon (issue 11, docs/operations.md "Installing as
// a service"): `make install DESTDIR PREFIX` puts each file where the Makefile says with its
// mode; the man pages render without a warning and say everything --help says (keys and
// commands are read from --help, not listed here); systemd-analyze accepts the unit; the
// installed daemon runs on the installed configuration and logs for the journal; sd_notify
// READY/RELOADING/STOPPING reach a real NOTIFY_SOCKET; SIGHUP applies a new log level, names
// the keys that need a restart, and ignores an invalid file.
//
// Needs make, man-db (man, groff) and systemd (systemd-analyze), from `scripts/setup --tests`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from './lib/test.mjs';

import { BIN_DIR, ROOT, databaseArgs, dropDatabaseOf, freePort, httpRequest, sleep, startServer,
  waitFor } from './lib/harness.mjs';

const TMP = process.env.SMSGATE_TEST_TMP || os.tmpdir();

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120000, ...opts });
  if (r.error) throw r.error;
  return r;
}

function runOk(cmd, args, opts) {
  const r = run(cmd, args, opts);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function make(args) {
  return runOk('make', ['-s', '-C', ROOT, ...args]);
}

const mode = (f) => (fs.statSync(f).mode & 0o7777).toString(8).padStart(4, '0');
const squash = (s) => s.replace(/\s+/g, ' ').trim();

// A man page as a reader sees it: wide enough that no line of ours is broken, groff's warnings
// on stderr (there must be none).
function renderMan(file) {
  const env = { ...process.env, MANWIDTH: '200', LC_ALL: 'C.UTF-8', MAN_KEEP_FORMATTING: '' };
  const r = runOk('man', ['--warnings', '-l', file], { env });
  assert.equal(r.stderr, '', `man --warnings -l ${file} complained:\n${r.stderr}`);
  const g = runOk('groff', ['-ww', '-z', '-man', file]);
  assert.equal(g.stderr, '', `groff -ww complained about ${file}:\n${g.stderr}`);
  return r.stdout;
}

describe('make install', () => {
  let dest;

  before(() => {
    dest = fs.mkdtempSync(path.join(TMP, 'smsgate-install-'));
    make(['install', `DESTDIR=${dest}`, 'PREFIX=/usr']);
  });
  after(() => { if (dest && !process.env.SMSGATE_KEEP_TMP) fs.rmSync(dest, { recursive: true, force: true }); });

  test('puts each file in its place with its mode (PREFIX=/usr: configuration in /etc)', () => {
    const want = {
      'usr/sbin/smsgated': '0755',
      'usr/bin/smsctl': '0755',
      'usr/share/man/man8/smsgated.8': '0644',
      'usr/share/man/man1/smsctl.1': '0644',
      'etc/smsgate/smsgated.conf': '0644',
      'usr/lib/systemd/system/smsgated.service': '0644',
      'usr/share/doc/smsgate/operations.md': '0644',
      'usr/share/doc/smsgate/smsgated.conf.example': '0644',
    };
    for (const [f, m] of Object.entries(want)) {
      const p = path.join(dest, f);
      assert.ok(fs.existsSync(p), `${f} is not installed`);
      assert.equal(mode(p), m, `mode of ${f}`);
    }
    assert.ok(!fs.existsSync(path.join(dest, 'var')), 'make install must not create the data directory');
    const conf = fs.readFileSync(path.join(dest, 'etc/smsgate/smsgated.conf'), 'utf8');
    const active = conf.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.deepEqual(active, ['data = /var/lib/smsgate']);
    const unit = fs.readFileSync(path.join(dest, 'usr/lib/systemd/system/smsgated.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/sbin\/smsgated --config \/etc\/smsgate\/smsgated\.conf$/m);
    assert.doesNotMatch(unit, /@[A-Z]+@/);
    // The installed binaries are the built ones.
    assert.deepEqual(fs.readFileSync(path.join(dest, 'usr/sbin/smsgated')),
      fs.readFileSync(path.join(ROOT, 'bin/smsgated')));
  });

  test('default PREFIX /usr/local, a kept configuration, and make uninstall', () => {
    const d = fs.mkdtempSync(path.join(TMP, 'smsgate-install-local-'));
    try {
      make(['install', `DESTDIR=${d}`]);
      const conf = path.join(d, 'usr/local/etc/smsgate/smsgated.conf');
      assert.ok(fs.existsSync(path.join(d, 'usr/local/sbin/smsgated')));
      assert.ok(fs.existsSync(conf));
      const unit = fs.readFileSync(path.join(d, 'usr/local/lib/systemd/system/smsgated.service'), 'utf8');
      assert.match(unit, /^ExecStart=\/usr\/local\/sbin\/smsgated --config \/usr\/local\/etc\/smsgate\/smsgated\.conf$/m);
      const page = fs.readFileSync(path.join(d, 'usr/local/share/man/man8/smsgated.8'), 'utf8');
      assert.match(page, /\/usr\/local\/etc\/smsgate\/smsgated\.conf/);
      // An operator's edited configuration survives a second install.
      fs.writeFileSync(conf, 'log-level = debug\n');
      make(['install', `DESTDIR=${d}`]);
      assert.equal(fs.readFileSync(conf, 'utf8'), 'log-level = debug\n');
      make(['uninstall', `DESTDIR=${d}`]);
      for (const f of ['usr/local/sbin/smsgated', 'usr/local/bin/smsctl', 'usr/local/share/man/man8/smsgated.8',
        'usr/local/share/man/man1/smsctl.1', 'usr/local/lib/systemd/system/smsgated.service']) {
        assert.ok(!fs.existsSync(path.join(d, f)), `${f} is left after make uninstall`);
      }
      assert.ok(fs.existsSync(conf), 'make uninstall keeps the configuration');
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  test('smsgated(8) shows every setting of smsgated --help, its text, default and reloadability', () => {
    const help = runOk(path.join(BIN_DIR, 'smsgated'), ['--help']).stdout;
    const keys = [];
    for (const line of help.split('\n')) {
      const m = /^ {2}--([a-z0-9-]+) +(.*) \(default: "(.*?)"(; reloadable)?\)$/.exec(line);
      if (m) keys.push({ name: m[1], text: m[2], def: m[3], reloadable: !!m[4] });
    }
    assert.ok(keys.length >= 30, `only ${keys.length} keys parsed from --help:\n${help}`);
    assert.ok(keys.some((k) => k.reloadable), 'no key is marked reloadable in --help');
    const page = renderMan(path.join(dest, 'usr/share/man/man8/smsgated.8'));
    for (const s of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'SIGNALS', 'FILES', 'SEE ALSO']) {
      assert.match(page, new RegExp(`^${s}$`, 'm'), `section ${s} missing`);
    }
    const lines = page.split('\n');
    for (const k of keys) {
      const at = lines.findIndex((l) => new RegExp(`^ +--${k.name}=`).test(l));
      assert.ok(at >= 0, `--${k.name} is not in smsgated(8)`);
      let end = at + 1;
      while (end < lines.length && lines[end].trim()) end++;
      const entry = squash(lines.slice(at + 1, end).join(' '));
      assert.ok(entry.includes(squash(k.text)), `--${k.name}: '${k.text}' not in its entry '${entry}'`);
      if (k.name !== 'config') {
        assert.ok(entry.includes(k.def ? `Default: “${k.def}”` : 'Default: empty'),
          `--${k.name}: default '${k.def}' not in '${entry}'`);
      }
      assert.equal(entry.includes('Reloaded on SIGHUP'), k.reloadable, `--${k.name} reloadability: '${entry}'`);
    }
  });

  test('smsctl(1) holds the text of smsctl --help and of smsctl help COMMAND for every command', () => {
    const smsctl = path.join(BIN_DIR, 'smsctl');
    const general = runOk(smsctl, ['--help']).stdout;
    const commands = new Set();
    for (const line of general.split('\n')) {
      const m = /^ {2}([a-z]+) /.exec(line);
      if (m) commands.add(m[1]);
    }
    assert.ok(commands.size >= 10, `commands parsed from --help: ${[...commands]}`);
    const page = squash(renderMan(path.join(dest, 'usr/share/man/man1/smsctl.1')));
    // The general usage after its first line, and every command's help, word for word.
    assert.ok(page.includes(squash(general.slice(general.indexOf('\n\n')))), 'smsctl --help is not in smsctl(1)');
    for (const c of commands) {
      const text = runOk(smsctl, ['help', c]).stdout;
      assert.ok(page.includes(squash(text)), `'smsctl help ${c}' is not in smsctl(1):\n${text}`);
    }
  });

  test('systemd-analyze verify accepts the installed unit', () => {
    // verify needs ExecStart's binary and the Documentation= pages to exist: point them at the
    // DESTDIR tree (the unit is otherwise as installed).
    const dir = fs.mkdtempSync(path.join(TMP, 'smsgate-unit-'));
    try {
      const unit = fs.readFileSync(path.join(dest, 'usr/lib/systemd/system/smsgated.service'), 'utf8')
        .replace('ExecStart=/usr/sbin/smsgated', `ExecStart=${dest}/usr/sbin/smsgated`);
      const file = path.join(dir, 'smsgated.service');
      fs.writeFileSync(file, unit);
      const r = run('systemd-analyze', ['verify', file],
        { env: { ...process.env, MANPATH: path.join(dest, 'usr/share/man'), SYSTEMD_LOG_COLOR: '0' } });
      assert.equal(r.status, 0, `systemd-analyze verify failed:\n${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim(), '', `systemd-analyze verify warned:\n${r.stderr}`);
      for (const line of ['Type=notify', 'User=smsgate', 'StateDirectory=smsgate', 'ProtectSystem=strict',
        'NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'SystemCallFilter=@system-service',
        'LimitNOFILE=65536', 'ExecReload=/bin/kill -HUP $MAINPID']) {
        assert.ok(unit.split('\n').includes(line), `the unit lacks '${line}'`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the installed smsgated serves with the installed configuration and logs for the journal',
    { timeout: 60000 }, async () => {
      const dir = fs.mkdtempSync(path.join(TMP, 'smsgate-installed-'));
      const data = path.join(dir, 'data');
      const logPath = path.join(dir, 'journal.log');
      const logFd = fs.openSync(logPath, 'w');
      const st = fs.fstatSync(logFd, { bigint: true });
      const [port, tlsPort] = [await freePort(), await freePort()];
      // The configuration as installed; the command line moves data and ports (it wins), and
      // the store to PostgreSQL when the suite runs there.
      const proc = spawn(path.join(dest, 'usr/sbin/smsgated'),
        ['--config', path.join(dest, 'etc/smsgate/smsgated.conf'), '--data', data, ...await databaseArgs(data),
          '--listen', `127.0.0.1:${port}`, '--tls-listen', `127.0.0.1:${tlsPort}`,
          '--metrics-listen', ''],
        { stdio: ['ignore', logFd, logFd], env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
      fs.closeSync(logFd);
      const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      try {
        await waitFor(async () => {
          const r = await httpRequest({ port, target: '/1.0/auth/time', timeoutMs: 1000 }).catch(() => null);
          return r && r.status === 200;
        }, { what: 'the installed smsgated to answer', timeoutMs: 15000 });
        const r = await httpRequest({ tls: true, port: tlsPort, target: '/1.0/auth/time', timeoutMs: 5000 })
          .catch((e) => ({ error: e }));
        // The self-signed certificate it generated is not trusted here; reaching TLS is enough.
        assert.ok(r.status === 200 || /self[- ]signed|certificate/i.test(String(r.error)), String(r.error));
      } finally {
        proc.kill('SIGTERM');
      }
      assert.deepEqual(await exited, { code: 0, signal: null });
      assert.equal(mode(data), '0700');
      assert.equal(mode(path.join(data, 'admin.token')), '0600');
      assert.ok(fs.existsSync(path.join(data, 'tls/cert.pem')));
      const lines = fs.readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
      assert.ok(lines.some((l) => /^<6>INFO main: smsgated .* ready/.test(l)), lines.join('\n'));
      for (const l of lines) {
        assert.match(l, /^<[3467]>(ERROR|WARN|INFO|DEBUG) [a-z.]+: /, 'a journal line carries its priority, no timestamp');
        assert.doesNotMatch(l, /^<[34]>/, `unexpected warning or error: ${l}`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      await dropDatabaseOf(data);
    });
});

describe('systemd notification and reload', () => {
  let srv, recv, received = '', conf, sock;

  const messages = () => received.split('\n').filter(Boolean);
  const waitMessage = (re, from = 0) => waitFor(() => messages().slice(from).find((m) => re.test(m)),
    { what: `a notification matching ${re}; got ${JSON.stringify(messages())}` });

  before(async () => {
    make(['build/tests/tools/notify_recv']);
    const dir = fs.mkdtempSync(path.join(TMP, 'smsgate-notify-'));
    sock = path.join(dir, 'notify.sock');
    recv = spawn(path.join(ROOT, 'build/tests/tools/notify_recv'), [sock, '90'], { stdio: ['ignore', 'pipe', 'inherit'] });
    recv.stdout.setEncoding('utf8');
    recv.stdout.on('data', (d) => { received += d; });
    await waitFor(() => received.startsWith('listening\n'), { what: 'notify_recv to bind' });
    received = '';
    conf = path.join(dir, 'smsgated.conf');
    fs.writeFileSync(conf, 'log-level = info\nlease-ms = 60000\n');
    // The server inherits the environment: NOTIFY_SOCKET for this one only.
    process.env.NOTIFY_SOCKET = sock;
    try {
      srv = await startServer({ args: ['--config', conf] });
    } finally {
      delete process.env.NOTIFY_SOCKET;
    }
  });
  after(async () => {
    try {
      await srv?.finish();
    } finally {
      recv?.kill('SIGTERM');
    }
  });

  test('READY=1 with a STATUS once it serves', async () => {
    const m = await waitMessage(/^READY=1\|STATUS=Serving/);
    assert.match(m, new RegExp(`127\\.0\\.0\\.1:${srv.port}`));
    assert.equal(messages().length, 1, `sent before READY: ${JSON.stringify(messages())}`);
  });

  test('SIGHUP: a new log-level applies at once, a key that needs a restart is named, an invalid file changes nothing',
    { timeout: 30000 }, async () => {
      const debugLines = () => srv.logLines().filter((l) => / DEBUG http: /.test(l)).length;
      await httpRequest({ port: srv.port, target: '/1.0/auth/time' });
      assert.equal(debugLines(), 0);

      fs.writeFileSync(conf, 'log-level = debug\nlease-ms = 30000\n');
      srv.expectLog(/WARN main: Reload: 'lease-ms' changed to '30000' but needs a restart.*stays '60000'/);
      let from = messages().length;
      srv.proc.kill('SIGHUP');
      await waitMessage(/^RELOADING=1\|MONOTONIC_USEC=\d+/, from);
      await waitMessage(/^READY=1/, from + 1);
      await waitFor(() => srv.logText().includes("Reload: 'log-level' is now 'debug' (was 'info')."),
        { what: 'the reload to be logged' });
      assert.match(srv.logText(), /WARN main: Reload: 'lease-ms' changed to '30000'/);
      assert.match(srv.logText(), /INFO main: Configuration reloaded from '.*smsgated\.conf': 1 key applied\./);
      await httpRequest({ port: srv.port, target: '/1.0/auth/time' });
      await waitFor(() => debugLines() > 0, { what: 'a DEBUG http line after the reload' });

      // The command line still wins: the harness's --listen is not replaced by the file's.
      fs.writeFileSync(conf, 'log-level = debug\nlease-ms = 30000\nlisten = 127.0.0.1:1\nmax-parts = 300\n');
      srv.expectLog(/ERROR main: Reloading the configuration failed, nothing changed: .*smsgated\.conf:4: 'max-parts' must be between 1 and 255, not 300\./);
      from = messages().length;
      srv.proc.kill('SIGHUP');
      await waitMessage(/^READY=1/, from);
      await waitFor(() => /Reloading the configuration failed/.test(srv.logText()), { what: 'the error' });
      const before = debugLines();
      const r = await httpRequest({ port: srv.port, target: '/1.0/auth/time' });
      assert.equal(r.status, 200);
      await waitFor(() => debugLines() > before, { what: 'still debug after the invalid file' });

      fs.writeFileSync(conf, 'log-level = info\nlease-ms = 30000\nlisten = 127.0.0.1:1\n');
      srv.proc.kill('SIGHUP');
      await waitFor(() => srv.logText().includes("Reload: 'log-level' is now 'info' (was 'debug')."),
        { what: 'back to info' });
      assert.doesNotMatch(srv.logText(), /'listen' changed/);
      await sleep(50);
      const n = debugLines();
      await httpRequest({ port: srv.port, target: '/1.0/auth/time' });
      await sleep(200);
      assert.equal(debugLines(), n, 'no DEBUG line once log-level is info again');
    });

  test('STOPPING=1 on SIGTERM', { timeout: 30000 }, async () => {
    const from = messages().length;
    await srv.stop();
    await waitMessage(/^STOPPING=1/, from);
  });
});
