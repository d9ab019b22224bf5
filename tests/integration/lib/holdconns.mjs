// holdconns.mjs - opens N TCP connections to 127.0.0.1:PORT and holds them, sending nothing.
//
//   node holdconns.mjs PORT N [CONNECT_TIMEOUT_MS]
//
// Runs in its own process so that its open-file limit can be raised above N (the test process
// may have a low one): `sh -c 'ulimit -n 4096 && exec node holdconns.mjs ...'`.
// Prints one JSON line when every connection attempt has settled (or after CONNECT_TIMEOUT_MS):
//   {"connected": c, "failed": f, "pending": p, "closedByServer": k}
// then another such line each time it reads a line on stdin, and exits (closing everything)
// when stdin ends.
import net from 'node:net';
import readline from 'node:readline';

const [port, n, timeoutMs = '15000'] = process.argv.slice(2).map(Number);
const socks = [];
let connected = 0, failed = 0, closedByServer = 0, settled = 0;
let reported = false;

const status = () => JSON.stringify({ connected, failed, pending: n - settled, closedByServer });
function report() {
  if (reported) return;
  reported = true;
  process.stdout.write(status() + '\n');
}

for (let i = 0; i < n; i++) {
  const s = net.connect(port, '127.0.0.1');
  let up = false;
  s.on('connect', () => {
    up = true;
    connected++;
    if (++settled === n) report();
  });
  s.on('error', () => {});
  s.on('close', () => {
    if (up) closedByServer++;
    else {
      failed++;
      if (++settled === n) report();
    }
  });
  socks.push(s);
}
const t = setTimeout(report, timeoutMs);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', () => process.stdout.write(status() + '\n'));
rl.on('close', () => {
  clearTimeout(t);
  for (const s of socks) s.destroy();
  process.exit(0);
});
