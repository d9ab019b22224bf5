// pg_scratch.test.mjs - the throw-away PostgreSQL clusters the PostgreSQL run of the suite
// stands on (scripts/pg-scratch, harness scratchCluster()): what they print, what survives an
// immediate shutdown, that stop and a dead owner leave nothing behind. PostgreSQL run only.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from './lib/test.mjs';

import { PSQL, ROOT, postgresOnly, psqlAsync, scratchCluster, waitFor } from './lib/harness.mjs';

const skip = postgresOnly('tests the PostgreSQL test clusters');
const psql = (conninfo, q) => psqlAsync(q, conninfo).then((s) => s.trim());
const refused = (conninfo) => spawnSync(PSQL, ['-X', '-At', '-d', conninfo, '-c', 'SELECT 1'],
  { encoding: 'utf8', env: { PATH: process.env.PATH, PGCONNECT_TIMEOUT: '5' } }).status !== 0;

describe('scripts/pg-scratch', () => {
  test('start prints a loopback conninfo; crash keeps committed rows; resume; stop removes it',
    { skip, timeout: 60000 }, async () => {
      const c = await scratchCluster();
      assert.match(c.conninfo, /^host=127\.0\.0\.1 port=\d+ user=postgres dbname=postgres$/);
      assert.equal(fs.readFileSync(path.join(c.dir, 'conninfo'), 'utf8').trim(), c.conninfo);
      assert.equal(await psql(c.conninfo, "SELECT current_setting('server_encoding') || ' ' "
        + "|| current_setting('lc_collate') || ' ' || current_setting('fsync') || ' ' "
        + "|| current_setting('listen_addresses')"), 'UTF8 C on 127.0.0.1');
      await psql(c.conninfo, 'CREATE TABLE t (x int); INSERT INTO t VALUES (42)');
      await c.crash();
      assert.ok(refused(c.conninfo), 'the server still answers after crash');
      await c.resume();
      assert.equal(await psql(c.conninfo, 'SELECT x FROM t'), '42');
      await c.stop();
      assert.ok(!fs.existsSync(c.dir), `${c.dir} is left after stop`);
      assert.ok(refused(c.conninfo), 'the server still answers after stop');
    });

  test('its owner killed, the cluster is stopped and removed within seconds', { skip, timeout: 60000 },
    async () => {
      const owner = spawn('sleep', ['120'], { stdio: 'ignore' });
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smsgate-pg-'));
      const r = spawnSync(path.join(ROOT, 'scripts/pg-scratch'), ['start', dir, '--owner', String(owner.pid)],
        { encoding: 'utf8', timeout: 60000 });
      try {
        assert.equal(r.status, 0, r.stderr);
        const conninfo = r.stdout.trim();
        assert.equal(await psql(conninfo, 'SELECT 1'), '1');
        const t0 = Date.now();
        owner.kill('SIGKILL');
        await waitFor(() => !fs.existsSync(dir) && refused(conninfo),
          { timeoutMs: 10000, intervalMs: 200, what: 'the watchdog to stop the cluster and remove its dir' });
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
      } finally {
        owner.kill('SIGKILL');
        spawnSync(path.join(ROOT, 'scripts/pg-scratch'), ['stop', dir]);
      }
    });
});
