// bench/lib.mjs - what the benchmarks share: command-line numbers, a free loopback port, one
// HTTP request, and one OVH-signed API call (spec 2.2) over plain HTTP to smsgated.
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';

// The number after --name on the command line, or def.
export function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function request(port, method, target, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// One OVH-signed call (spec 2.2).
export async function ovh(port, keys, method, p, bodyObj) {
  const target = '/1.0' + p;
  const body = bodyObj ? JSON.stringify(bodyObj) : '';
  const ts = String(Math.round(Date.now() / 1000));
  const url = `http://127.0.0.1:${port}${target}`;
  const sig = '$1$' + crypto.createHash('sha1')
    .update([keys.applicationSecret, keys.consumerKey, method, url, body, ts].join('+')).digest('hex');
  const r = await request(port, method, target, {
    'X-Ovh-Application': keys.applicationKey, 'X-Ovh-Consumer': keys.consumerKey,
    'X-Ovh-Timestamp': ts, 'X-Ovh-Signature': sig, 'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  }, body || undefined);
  if (r.status !== 200) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

