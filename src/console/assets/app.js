// smsgate console (docs/console.md). Plain JavaScript, no build step, nothing fetched from
// elsewhere. It has no API of its own: every page calls the routes any client calls
// (/1.0/sms/..., /admin/..., /1.0/me/document...), authorized by the session cookie, and sends
// the session's CSRF token in X-Smsgate-Csrf with every change. Pages that follow something
// poll (every second or two) while they are shown; nothing reloads the page.
'use strict';

const S = { session: null, timers: [], page: null, inflight: 0 };

// ---- DOM helpers: text only through textContent, never HTML built from data ----

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false)
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function svg(tag, attrs, ...kids) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

let fieldSeq = 0;
// A labelled field: returns [label, input] with the label's for= set.
function field(labelText, input) {
  const id = input.id || ('f' + (++fieldSeq));
  input.id = id;
  return [el('label', { for: id, text: labelText }), input];
}

function toast(msg, isError) {
  const t = el('div', { class: isError ? 'error' : '', text: msg });
  document.getElementById('toast').append(t);
  setTimeout(() => t.remove(), isError ? 6000 : 3000);
}

function table(headers, rows) {
  return el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c)))))));
}

function fmtTime(s) { return s ? new Date(s).toLocaleString() : '—'; }
// A delay in milliseconds for people: 180 ms, 2.5 s, 12.0 min; an hour or more is the receipt
// histogram's last bound (its estimates stop there).
function fmtDelay(ms) {
  if (ms < 1000) return ms + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  if (ms < 3600000) return (ms / 60000).toFixed(1) + ' min';
  return '≥ 1 h';
}
function enc(s) { return encodeURIComponent(s); }

// ---- the API ----

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function call(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && S.session) headers['X-Smsgate-Csrf'] = S.session.csrf;
  S.inflight++;
  let res, text;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    text = await res.text();
  } finally {
    S.inflight--;
  }
  let v = null;
  try { v = text ? JSON.parse(text) : null; } catch (e) { v = text; }
  if (!res.ok) {
    if (res.status === 401 && S.session && !path.startsWith('/console/')) {
      S.session = null;
      showLogin('Your session has ended: please log in again.');
    }
    throw new ApiError(res.status, (v && v.message) || ('HTTP ' + res.status));
  }
  return v;
}
const get = (p) => call('GET', p);
const svc = () => '/1.0/sms/' + enc(S.session.service);

// Runs fn, shows its error as a toast; returns its value or undefined.
async function guard(fn) {
  try { return await fn(); } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) toast(e.message, true);
    return undefined;
  }
}

// Polls fn every ms while the page is shown (stopped on navigation).
function every(ms, fn) {
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (e) { /* shown by the next successful tick */ }
    if (!stopped) S.timers.push(setTimeout(tick, ms));
  };
  S.timers.push({ stop: () => { stopped = true; } });
  tick();
}
function stopTimers() {
  for (const t of S.timers) if (t && t.stop) t.stop(); else clearTimeout(t);
  S.timers = [];
}

// ---- login, logout, navigation ----

const customerPages = [
  ['overview', 'Overview', pageOverview], ['send', 'Send', pageSend],
  ['outgoing', 'Outgoing', pageOutgoing], ['replies', 'Replies', pageReplies],
  ['senders', 'Senders', pageSenders], ['campaigns', 'Campaigns', pageCampaigns],
  ['callbacks', 'Callbacks', pageCallbacks], ['orders', 'Orders', pageOrders],
];
const operatorPages = [
  ['accounts', 'Accounts', pageAccounts], ['approvals', 'Approvals', pageApprovals],
  ['routes', 'Routes', pageRoutes], ['nodes', 'Nodes', pageNodes],
  ['admin-orders', 'Orders', pageAdminOrders], ['prices', 'Prices', pagePrices],
];
const pages = () => (S.session && S.session.kind === 'operator' ? operatorPages : customerPages);

function render(title, ...content) {
  const main = document.getElementById('main');
  main.replaceChildren(el('h1', { text: title }), ...content);
  document.title = title + ' — smsgate console';
}

function showLogin(message) {
  stopTimers();
  document.getElementById('nav').replaceChildren();
  document.getElementById('who').textContent = '';
  document.getElementById('logout').hidden = true;
  const err = el('p', { class: 'error-text', role: 'alert', text: message || '' });
  const login = el('input', { name: 'login', autocomplete: 'username', required: true });
  const pass = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const service = el('input', { name: 'service', autocomplete: 'organization', placeholder: 'sms-acme-1 (if your login is not unique)' });
  const token = el('input', { name: 'token', type: 'password', autocomplete: 'off', required: true });
  const go = async (body) => {
    try {
      S.session = await call('POST', '/console/session', body);
      location.hash = '#/' + pages()[0][0];
      start();
    } catch (e) { err.textContent = e.message; }
  };
  render('Log in', err,
    el('form', { class: 'card', id: 'customer-login', onsubmit: (ev) => {
      ev.preventDefault();
      const b = { login: login.value, password: pass.value };
      if (service.value) b.service = service.value;
      go(b);
    } }, el('h2', { text: 'Customer' }),
    field('Login', login), field('Password', pass), field('Service (optional)', service),
    el('button', { type: 'submit', text: 'Log in' })),
    el('form', { class: 'card', id: 'operator-login', onsubmit: (ev) => {
      ev.preventDefault();
      go({ token: token.value });
    } }, el('h2', { text: 'Operator' }), field('Admin token', token),
    el('button', { type: 'submit', text: 'Log in as operator' })));
}

function route() {
  stopTimers();
  if (!S.session) return;
  const name = (location.hash.replace(/^#\/?/, '') || pages()[0][0]).split('/')[0];
  const p = pages().find((x) => x[0] === name) || pages()[0];
  for (const a of document.querySelectorAll('#nav a'))
    if (a.dataset.page === p[0]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  S.page = p[0];
  p[2]();
  document.getElementById('main').focus();
}

function start() {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...pages().map(([id, label]) => {
    const a = el('a', { href: '#/' + id, text: label });
    a.dataset.page = id;
    return a;
  }));
  const s = S.session;
  document.getElementById('who').textContent = s.kind === 'operator'
    ? 'operator' : s.login + ' · ' + s.service;
  document.getElementById('logout').hidden = false;
  route();
}

async function logout() {
  // The page's polls stop first, and the calls already sent are let finish (at most 5 s), so
  // that none of them meets the ended session.
  stopTimers();
  for (let i = 0; S.inflight > 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
  await guard(() => call('DELETE', '/console/session'));
  S.session = null;
  location.hash = '';
  showLogin('You are logged out.');
}

// ---- customer pages ----

// The newest SMS of the service (outgoing and still pending), at most n, with their details.
async function recentSms(n, query) {
  const q = query ? '?' + query : '';
  const [out, pend] = await Promise.all([get(svc() + '/outgoing' + q), get(svc() + '/jobs' + q)]);
  const ids = [...new Set([...out, ...pend])].sort((a, b) => b - a).slice(0, n);
  return Promise.all(ids.map((id) => get(svc() + '/outgoing/' + id)));
}

function bars(title, pairs) {
  const w = 520, h = 160, max = Math.max(1, ...pairs.map((p) => p[1]));
  const bw = w / Math.max(1, pairs.length);
  const g = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': title });
  pairs.forEach(([label, v], i) => {
    const bh = Math.round((h - 30) * v / max);
    g.append(svg('rect', { x: i * bw + 4, y: h - 18 - bh, width: bw - 8, height: bh }));
    g.append(svg('text', { x: i * bw + 4, y: h - 4 }, label));
    g.append(svg('text', { x: i * bw + 4, y: h - 22 - bh }, v));
  });
  return g;
}

function pageOverview() {
  const credits = el('span', { class: 'kpi live', id: 'credits', text: '…' });
  const rate = el('span', { class: 'kpi live', id: 'delivery-rate', text: '…' });
  const byStatus = el('div', { id: 'by-status' });
  const latency = el('div', { id: 'latency' });
  render('Overview',
    el('section', {}, el('div', { class: 'row' },
      el('div', {}, el('div', { class: 'muted', text: 'Credits left' }), credits),
      el('div', {}, el('div', { class: 'muted', text: 'Delivery rate today' }), rate))),
    el('section', {}, el('h2', { text: 'SMS today by status' }), byStatus),
    el('section', {}, el('h2', { text: 'Receipt latency today (seconds)' }), latency,
      el('p', { class: 'muted', text: 'From the newest 100 SMS of today.' })));
  every(5000, async () => {
    const s = await get(svc());
    credits.textContent = s.creditsLeft;
    const today = new Date(); today.setHours(0, 0, 0, 0);
    const list = await recentSms(100, 'creationDatetime.from=' + enc(today.toISOString()));
    const counts = {};
    for (const m of list) counts[m.status] = (counts[m.status] || 0) + 1;
    byStatus.replaceChildren(bars('SMS today by status', Object.entries(counts)));
    const final = list.filter((m) => m.status === 'delivered' || m.status === 'failed');
    const ok = final.filter((m) => m.status === 'delivered').length;
    rate.textContent = final.length ? Math.round(100 * ok / final.length) + ' %' : '—';
    const buckets = [['<1', 0], ['1-5', 0], ['5-30', 0], ['30-300', 0], ['>300', 0]];
    for (const m of list) {
      if (!m.deliveredAt || !m.sentAt) continue;
      const s2 = (Date.parse(m.deliveredAt) - Date.parse(m.sentAt)) / 1000;
      buckets[s2 < 1 ? 0 : s2 < 5 ? 1 : s2 < 30 ? 2 : s2 < 300 ? 3 : 4][1]++;
    }
    latency.replaceChildren(bars('Receipt latency today', buckets));
  });
}

// Credits of one SMS to a number's country: a small table of calling codes, France otherwise.
const codes = [['+33', 'fr'], ['+32', 'be'], ['+41', 'ch'], ['+49', 'de'], ['+34', 'es'],
  ['+44', 'uk'], ['+39', 'it'], ['+351', 'pt'], ['+352', 'lu'], ['+31', 'nl'], ['+48', 'pl']];
function countryOf(n) {
  const s = n.replace(/[\s.-]/g, '');
  const c = codes.find(([p]) => s.startsWith(p) || s.startsWith('00' + p.slice(1)));
  return c ? c[1] : 'fr';
}

function pageSend() {
  const to = el('input', { name: 'receivers', inputmode: 'tel', placeholder: '+33612345678, +33698765432', required: true });
  const sender = el('select', { name: 'sender' }, el('option', { value: '', text: 'Short number (replies come back)' }));
  const msg = el('textarea', { name: 'message', required: true, maxlength: 5000 });
  const nostop = el('input', { type: 'checkbox', name: 'noStopClause', checked: true });
  const info = el('p', { class: 'live', id: 'estimate', 'aria-live': 'polite', text: 'Type a message.' });
  const result = el('div', { id: 'send-result' });
  let timer = null;
  const estimate = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (!msg.value) { info.textContent = 'Type a message.'; return; }
      const e = await guard(() => call('POST', '/1.0/sms/estimate',
        { message: msg.value, noStopClause: nostop.checked, senderType: 'alpha' }));
      if (!e) return;
      const nums = to.value.split(/[,;\n]/).map((x) => x.trim()).filter(Boolean);
      let price = '';
      const countries = [...new Set(nums.map(countryOf))];
      if (countries.length) {
        const rates = await Promise.all(countries.map((c) =>
          get('/1.0/sms/rates/destinations?country=' + c).catch(() => null)));
        let total = 0;
        for (const n of nums) {
          const r = rates[countries.indexOf(countryOf(n))];
          total += (r ? r.credit : 1) * e.parts;
        }
        price = ` · ${total} credit${total === 1 ? '' : 's'} for ${nums.length} receiver${nums.length === 1 ? '' : 's'}`;
      }
      info.textContent = `${e.characters} characters · ${e.charactersClass === '7bits' ? 'GSM 7-bit' : 'Unicode (UCS-2)'} · ` +
        `${e.parts} part${e.parts === 1 ? '' : 's'} (${e.maxCharactersPerPart} per part)${price}`;
    }, 150);
  };
  msg.addEventListener('input', estimate);
  to.addEventListener('input', estimate);
  nostop.addEventListener('change', estimate);
  const form = el('form', { class: 'card', id: 'send-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { message: msg.value, noStopClause: nostop.checked,
      receivers: to.value.split(/[,;\n]/).map((x) => x.trim()).filter(Boolean) };
    if (sender.value) body.sender = sender.value; else body.senderForResponse = true;
    const r = await guard(() => call('POST', svc() + '/jobs', body));
    if (!r) return;
    toast(`Sent: ${r.ids.length} SMS, ${r.totalCreditsRemoved} credit${r.totalCreditsRemoved === 1 ? '' : 's'}`);
    follow(r.ids, r.invalidReceivers, result);
  } }, field('To', to), field('From', sender), field('Message', msg),
  el('label', {}, nostop, ' No STOP clause (transactional SMS)'), info,
  el('button', { type: 'submit', text: 'Send' }));
  render('Send an SMS', form, result);
  guard(async () => {
    for (const name of await get(svc() + '/senders')) {
      const s = await get(svc() + '/senders/' + enc(name));
      if (s.status === 'enable') sender.append(el('option', { value: name, text: name }));
    }
  });
}

// Shows the SMS just sent and follows their status until each is final.
function follow(ids, invalid, where) {
  const rows = new Map(ids.map((id) => [id, el('td', { class: 'live', id: 'status-' + id, text: 'accepted' })]));
  where.replaceChildren(el('section', {}, el('h2', { text: 'Following' }),
    (invalid && invalid.length) ? el('p', { class: 'error-text', text: 'Invalid receivers: ' + invalid.join(', ') }) : null,
    table(['SMS', 'Receiver', 'Status'], ids.map((id) => [String(id), el('span', { id: 'rcv-' + id }), rows.get(id)]))));
  const pending = new Set(ids);
  every(1000, async () => {
    for (const id of [...pending]) {
      const m = await get(svc() + '/outgoing/' + id);
      const td = rows.get(id);
      td.textContent = m.status;
      td.className = 'live status-' + m.status;
      document.getElementById('rcv-' + id).textContent = m.receiver;
      if (m.status === 'delivered' || m.status === 'failed' || m.status === 'cancelled') pending.delete(id);
    }
    if (!pending.size) stopTimers();
  });
}

function pageOutgoing() {
  const receiver = el('input', { name: 'receiver', inputmode: 'tel' });
  const tag = el('input', { name: 'tag' });
  const from = el('input', { name: 'from', type: 'date' });
  const list = el('div', { id: 'outgoing-list' });
  const detail = el('div', { id: 'sms-detail' });
  const load = async () => {
    const q = new URLSearchParams();
    if (receiver.value) q.set('receiver', receiver.value);
    if (tag.value) q.set('tag', tag.value);
    if (from.value) q.set('creationDatetime.from', new Date(from.value).toISOString());
    const sms = await recentSms(50, q.toString());
    list.replaceChildren(sms.length ? table(['SMS', 'Created', 'Receiver', 'Sender', 'Status', 'Parts', 'Credits'],
      sms.map((m) => [el('button', { type: 'button', class: 'secondary', text: String(m.id),
        'aria-label': 'Timeline of SMS ' + m.id, onclick: () => timeline(m.id, detail) }),
      fmtTime(m.creationDatetime), m.receiver, m.sender,
      el('span', { class: 'status-' + m.status, text: m.status }), String(m.numberOfSms), String(m.credits)]))
      : el('p', { text: 'No SMS.' }));
  };
  render('Outgoing SMS',
    el('form', { class: 'card', onsubmit: (ev) => { ev.preventDefault(); guard(load); } },
      el('div', { class: 'row' }, el('div', {}, field('Receiver', receiver)), el('div', {}, field('Tag', tag)),
        el('div', {}, field('Sent since', from))), el('button', { type: 'submit', text: 'Filter' })),
    detail, list, el('p', { class: 'muted', text: 'The newest 50; refreshed every 5 seconds.' }));
  every(5000, load);
}

// One SMS's life: accepted, submitted, its receipt, and every status callback with its answer.
async function timeline(id, where) {
  const m = await guard(() => get(svc() + '/outgoing/' + id));
  if (!m) return;
  const steps = [['Accepted', m.creationDatetime], ['Submitted to the operator', m.sentAt]];
  if (m.deliveredAt) steps.push([m.status === 'delivered' ? 'Delivered (receipt)' : 'Final receipt', m.deliveredAt]);
  else if (m.status === 'failed') steps.push(['Failed (ptt ' + m.ptt + ')', null]);
  const calls = [];
  for (const state of ['delivered', 'pending', 'dead']) {
    const l = await guard(() => get(`/admin/services/${enc(S.session.service)}/callbacks?state=${state}`));
    if (l) calls.push(...l.filter((c) => c.messageId === id));
  }
  calls.sort((a, b) => a.id - b.id);
  where.replaceChildren(el('section', { id: 'timeline' }, el('h2', { text: 'SMS ' + id + ' to ' + m.receiver }),
    el('ol', { class: 'timeline' }, steps.map(([what, when]) => el('li', {}, what + ': ' + fmtTime(when))),
      calls.map((c) => el('li', {}, `Callback (deliveryReceipt ${c.deliveryReceipt}): ${c.state}, ` +
        `${c.attempts} attempt${c.attempts === 1 ? '' : 's'}` +
        (c.lastStatus ? `, last answer HTTP ${c.lastStatus}` : '') + (c.lastError ? `, ${c.lastError}` : '') +
        (c.lastAttemptAt ? ` at ${fmtTime(c.lastAttemptAt)}` : '')))),
    el('p', { class: 'muted', text: `Status ${m.status}, deliveryReceipt ${m.deliveryReceipt}, ptt ${m.ptt}, ${m.numberOfSms} part(s).` })));
}

function pageReplies() {
  const list = el('div', { id: 'replies-list' });
  render('Replies', list);
  every(3000, async () => {
    const ids = (await get(svc() + '/incoming')).sort((a, b) => b - a).slice(0, 50);
    const msgs = await Promise.all(ids.map((id) => get(svc() + '/incoming/' + id)));
    list.replaceChildren(msgs.length ? table(['Received', 'From', 'Message', 'Tag'],
      msgs.map((m) => [fmtTime(m.creationDatetime), m.sender, m.message, m.tag || '']))
      : el('p', { text: 'No reply yet.' }));
  });
}

function pageSenders() {
  const name = el('input', { name: 'sender', maxlength: 15, required: true });
  const reason = el('input', { name: 'reason' });
  const description = el('input', { name: 'description' });
  const list = el('div', { id: 'senders-list' });
  const load = async () => {
    const names = await get(svc() + '/senders');
    const all = await Promise.all(names.map((n) => get(svc() + '/senders/' + enc(n))));
    list.replaceChildren(all.length ? table(['Sender', 'Status', 'Comment'],
      all.map((s) => [s.sender, el('span', { class: 'status-' + s.status, text: s.status }), s.comment || '']))
      : el('p', { text: 'No sender declared.' }));
  };
  render('Senders',
    el('form', { class: 'card', id: 'sender-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const ok = await guard(() => call('POST', svc() + '/senders',
        { sender: name.value, reason: reason.value, description: description.value }));
      if (ok !== undefined) { toast('Sender ' + name.value + ' declared: waiting for approval'); name.value = ''; load(); }
    } }, el('h2', { text: 'Declare a sender' }), field('Sender name', name), field('Why you need it', reason),
    field('Description', description), el('button', { type: 'submit', text: 'Declare' })), list);
  every(3000, load);
}

function pageCampaigns() {
  const file = el('input', { name: 'csv', type: 'file', accept: '.csv,text/csv', required: true });
  const msg = el('textarea', { name: 'message', required: true, placeholder: 'Hello #name#!' });
  const tag = el('input', { name: 'tag', required: true, value: 'campaign-' + new Date().toISOString().slice(0, 10) });
  const nostop = el('input', { type: 'checkbox', name: 'noStopClause', checked: true });
  const progress = el('div', { id: 'campaign-progress' });
  render('Campaigns',
    el('form', { class: 'card', id: 'campaign-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const f = file.files[0];
      if (!f) return;
      const ok = await guard(async () => {
        const doc = await call('POST', '/1.0/me/document', { name: f.name, tags: [] });
        const put = new URL(doc.putUrl); // same server: its path only, whatever host it names
        const up = await fetch(put.pathname + put.search, { method: 'PUT', body: await f.text() });
        if (!up.ok) throw new Error('Upload failed: HTTP ' + up.status);
        const used = await get(svc() + '/receivers');
        const slot = [1, 2, 3, 4, 5, 6, 7, 8, 9].find((n) => !used.includes(n) && !used.includes(String(n)));
        if (!slot) throw new Error('Every receivers slot (1-9) is in use: delete one first');
        const rcv = await call('POST', svc() + '/receivers',
          { slotId: slot, description: f.name, autoUpdate: false, documentId: doc.id });
        const job = await call('POST', svc() + '/jobs', { message: msg.value, receiversSlotId: String(slot),
          senderForResponse: true, tag: tag.value, noStopClause: nostop.checked });
        await call('DELETE', svc() + '/receivers/' + slot);
        return { rcv, job };
      });
      if (ok) { toast(`Campaign ${tag.value}: ${ok.rcv.validRecords ?? ok.rcv.records} receivers`); watch(tag.value, progress); }
    } }, el('h2', { text: 'New campaign' }), field('Receivers (CSV file, a "number" column)', file),
    field('Message (#column# is replaced per receiver)', msg), field('Tag', tag),
    el('label', {}, nostop, ' No STOP clause'), el('button', { type: 'submit', text: 'Upload and send' })),
    progress);
}

// Live progress of the SMS carrying a tag, to 100 % once every one is final.
function watch(tag, where) {
  const bar = el('progress', { id: 'campaign-bar', max: 100, value: 0, 'aria-label': 'Campaign progress' });
  const pct = el('span', { class: 'kpi live', id: 'campaign-percent', text: '0 %' });
  const detail = el('p', { class: 'live muted', id: 'campaign-detail' });
  where.replaceChildren(el('section', {}, el('h2', { text: 'Campaign ' + tag }), pct, el('div', {}, bar), detail));
  every(1000, async () => {
    const s = await get(svc() + '/tags/' + enc(tag) + '/statistics');
    const done = s.delivered + s.failed + (s.cancelled || 0);
    const p = s.total ? Math.floor(100 * done / s.total) : 0;
    bar.value = p;
    pct.textContent = p + ' %';
    detail.textContent = `${s.total} SMS · pending ${s.pending} · sent ${s.sent} · delivered ${s.delivered} · failed ${s.failed}`;
    if (s.total && done === s.total) stopTimers();
  });
}

function pageCallbacks() {
  const url = el('input', { name: 'callBack', type: 'url', placeholder: 'https://example.com/sms-status' });
  const list = el('div', { id: 'dead-callbacks' });
  const base = `/admin/services/${enc(S.session.service)}/callbacks`;
  const load = async () => {
    const dead = await get(base + '?state=dead');
    list.replaceChildren(dead.length ? el('div', {},
      el('button', { type: 'button', id: 'replay-all', text: `Replay all ${dead.length}`, onclick: async () => {
        const r = await guard(() => call('POST', base + '/replay'));
        if (r) { toast(`${r.replayed} callback(s) replayed`); load(); }
      } }),
      table(['Call', 'SMS', 'Status', 'Attempts', 'Last answer', 'Ended', ''], dead.map((c) => [String(c.id),
        String(c.messageId), 'deliveryReceipt ' + c.deliveryReceipt, String(c.attempts),
        c.lastStatus ? 'HTTP ' + c.lastStatus : (c.lastError || '—'), fmtTime(c.endedAt),
        el('button', { type: 'button', class: 'secondary', text: 'Replay', 'aria-label': 'Replay call ' + c.id,
          onclick: async () => {
            const r = await guard(() => call('POST', base + '/replay', { ids: [c.id] }));
            if (r) { toast('Replayed'); load(); }
          } })])))
      : el('p', { id: 'no-dead', text: 'No dead callback.' }));
  };
  render('Callbacks',
    el('form', { class: 'card', id: 'callback-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const ok = await guard(() => call('PUT', svc(), { callBack: url.value || null }));
      if (ok !== undefined) toast('Callback URL saved');
    } }, field('Status callback URL (callBack)', url), el('button', { type: 'submit', text: 'Save' })),
    el('h2', { text: 'Dead callbacks' }), list);
  guard(async () => {
    const cur = (await get(svc())).callBack || '';
    if (!url.value) url.value = cur; /* what was typed meanwhile stays */
  });
  every(3000, load);
}

function pageOrders() {
  const quantity = el('select', { name: 'quantity' },
    [100, 200, 500, 1000, 5000, 10000].map((q) => el('option', { value: q, text: q + ' credits' })));
  const quote = el('p', { class: 'live', id: 'quote' });
  const result = el('div', { id: 'order-result' });
  const amount = el('select', { name: 'automaticRecreditAmount' }, el('option', { value: '', text: 'No automatic top-up' }),
    [100, 200, 250, 500, 1000, 5000, 10000].map((q) => el('option', { value: q, text: q + ' credits' })));
  const threshold = el('input', { name: 'creditThresholdForAutomaticRecredit', type: 'number', min: 0 });
  const showQuote = () => guard(async () => {
    const o = await get(`/1.0/order/sms/${enc(S.session.service)}/credits?quantity=${quantity.value}`);
    quote.textContent = 'Price: ' + (o.prices && o.prices.withTax ? o.prices.withTax.text : JSON.stringify(o.prices || o));
  });
  quantity.addEventListener('change', showQuote);
  render('Orders and top-up',
    el('form', { class: 'card', onsubmit: async (ev) => {
      ev.preventDefault();
      const o = await guard(() => call('POST', `/1.0/order/sms/${enc(S.session.service)}/credits`, { quantity: Number(quantity.value) }));
      if (o) result.replaceChildren(el('p', { text: `Order ${o.orderId} created: waiting for payment.` }));
    } }, el('h2', { text: 'Buy credits' }), field('Quantity', quantity), quote,
    el('button', { type: 'submit', text: 'Order' }), result),
    el('form', { class: 'card', id: 'topup-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const ok = await guard(() => call('PUT', svc(), {
        automaticRecreditAmount: amount.value ? Number(amount.value) : null,
        creditThresholdForAutomaticRecredit: Number(threshold.value || 0) }));
      if (ok !== undefined) toast('Top-up settings saved');
    } }, el('h2', { text: 'Automatic top-up' }), field('Credits to order', amount),
    field('When credits fall below', threshold), el('button', { type: 'submit', text: 'Save' })));
  showQuote();
  guard(async () => {
    const s = await get(svc());
    /* what was typed meanwhile stays */
    if (!amount.value) amount.value = s.automaticRecreditAmount ? String(s.automaticRecreditAmount) : '';
    if (!threshold.value) threshold.value = s.creditThresholdForAutomaticRecredit ?? 0;
  });
}

// ---- operator pages ----

async function services() { return (await get('/admin/accounts')).map((a) => a.serviceName); }

function pageAccounts() {
  const name = el('input', { name: 'account', pattern: '[a-z0-9-]{1,32}', required: true });
  const credits = el('input', { name: 'credits', type: 'number', min: 0, value: 100 });
  const usvc = el('select', { name: 'service', id: 'user-service' });
  const ulogin = el('input', { name: 'login', id: 'user-login', required: true, autocomplete: 'off' });
  const upass = el('input', { name: 'password', id: 'user-password', type: 'password', required: true, autocomplete: 'new-password' });
  const list = el('div', { id: 'accounts-list' });
  const load = async () => {
    const accounts = await get('/admin/accounts');
    const prev = usvc.value;
    usvc.replaceChildren(...accounts.map((a) => el('option', { value: a.serviceName, text: a.serviceName })));
    if (prev) usvc.value = prev;
    const rows = await Promise.all(accounts.map(async (a) => {
      const users = await get('/1.0/sms/' + enc(a.serviceName) + '/users').catch(() => []);
      return [a.account, a.serviceName, String(a.creditsLeft), users.join(', ') || '—'];
    }));
    list.replaceChildren(table(['Account', 'Service', 'Credits', 'SMS users'], rows));
  };
  render('Accounts',
    el('form', { class: 'card', id: 'account-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await guard(() => call('POST', '/admin/accounts', { name: name.value, credits: Number(credits.value || 0) }));
      if (r) { toast('Account ' + r.account + ' created: ' + r.serviceName); load(); }
    } }, el('h2', { text: 'New account' }), field('Name', name), field('Credits', credits),
    el('button', { type: 'submit', text: 'Create account' })),
    el('form', { class: 'card', id: 'user-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await guard(() => call('POST', '/1.0/sms/' + enc(usvc.value) + '/users',
        { login: ulogin.value, password: upass.value }));
      if (r !== undefined) { toast('SMS user ' + ulogin.value + ' created'); ulogin.value = ''; upass.value = ''; load(); }
    } }, el('h2', { text: 'New SMS user (customer login)' }), field('Service', usvc), field('Login', ulogin),
    field('Password', upass), el('button', { type: 'submit', text: 'Create SMS user' })),
    list);
  guard(load);
}

function pageApprovals() {
  const list = el('div', { id: 'approvals-list' });
  const templates = el('div', { id: 'template-approvals' });
  const load = async () => {
    const rows = [];
    const tmpl = [];
    for (const sn of await services()) {
      for (const s of await get('/admin/services/' + enc(sn) + '/senders'))
        if (s.status === 'waitingValidation') rows.push([sn, s]);
      if (S.session.templates)
        for (const name of await get('/1.0/sms/' + enc(sn) + '/templatesControl')) {
          const t = await get('/1.0/sms/' + enc(sn) + '/templatesControl/' + enc(name));
          if (t.status === 'waitingValidation') tmpl.push([sn, t]);
        }
    }
    const moderate = (sn, t, status) => async () => {
      const ok = await guard(() => call('PUT', `/admin/services/${enc(sn)}/templates/${enc(t.name)}`,
        { status, comment: status === 'enable' ? 'approved in the console' : 'refused in the console' }));
      if (ok !== undefined) { toast(`Template ${t.name}: ${status === 'enable' ? 'approved' : 'refused'}`); load(); }
    };
    templates.replaceChildren(!S.session.templates ? el('p', { class: 'muted', text: 'This server has no message templates.' })
      : tmpl.length ? table(['Service', 'Template', 'Activity', 'Message', ''],
        tmpl.map(([sn, t]) => [sn, t.name, t.activity || '', t.message || '', el('span', {},
          el('button', { type: 'button', text: 'Approve', 'aria-label': 'Approve template ' + t.name, onclick: moderate(sn, t, 'enable') }),
          el('button', { type: 'button', class: 'danger', text: 'Refuse', 'aria-label': 'Refuse template ' + t.name, onclick: moderate(sn, t, 'refused') }))]))
        : el('p', { id: 'no-template-approvals', text: 'No template waits for approval.' }));
    const decide = (sn, s, status) => async () => {
      const ok = await guard(() => call('PUT', `/admin/services/${enc(sn)}/senders/${enc(s.sender)}`,
        { status, comment: status === 'enable' ? 'approved in the console' : 'refused in the console' }));
      if (ok !== undefined) { toast(`${s.sender}: ${status === 'enable' ? 'approved' : 'refused'}`); load(); }
    };
    list.replaceChildren(rows.length ? table(['Service', 'Sender', 'Reason', 'Declared', ''],
      rows.map(([sn, s]) => [sn, s.sender, s.reason || '', fmtTime(s.createdAt), el('span', {},
        el('button', { type: 'button', text: 'Approve', 'aria-label': 'Approve ' + s.sender, onclick: decide(sn, s, 'enable') }),
        el('button', { type: 'button', class: 'danger', text: 'Refuse', 'aria-label': 'Refuse ' + s.sender, onclick: decide(sn, s, 'refused') }))]))
      : el('p', { id: 'no-approvals', text: 'Nothing waits for approval.' }));
  };
  render('Approvals', el('h2', { text: 'Senders' }), list, el('h2', { text: 'Message templates' }), templates,
    el('p', { class: 'muted', text: 'What customers declare waits here; refreshed every 3 seconds.' }));
  every(3000, load);
}

function pageRoutes() {
  const list = el('div', { id: 'routes-list' });
  render('Routes', list, el('p', { class: 'muted', text: 'Live: refreshed every 2 seconds.' }));
  every(2000, async () => {
    const routes = await get('/admin/route-status');
    // receiptLatency: only SMPP routes have one, null until their first receipt
    const latency = (r) => (r.receiptLatency === undefined ? '—' : r.receiptLatency === null ? 'no receipt yet'
      : el('span', { class: 'latency', title: 'mean ' + fmtDelay(r.receiptLatency.meanMs) },
        `median ${fmtDelay(r.receiptLatency.medianMs)}, p95 ${fmtDelay(r.receiptLatency.p95Ms)}`,
        el('br'), el('span', { class: 'muted', text: `${r.receiptLatency.count} receipts` })));
    list.replaceChildren(table(['Route', 'State', 'Binds', 'Rate (SMS/s)', 'Window', 'Queue', 'Receipts',
      'Receipt latency', ''],
      routes.map((r) => [r.name + ' (' + r.kind + ')',
        el('span', { class: r.up ? 'up' : 'down', text: (r.enabled ? '' : 'disabled, ') + (r.up ? 'up' : 'down') }),
        r.binds ? r.binds.map((b) => `${b.name}: ${b.state}`).join(', ') : '—',
        String(r.rate ?? '—'), r.windowUsed !== undefined ? `${r.windowUsed}/${r.window}` : `${r.inflight}/${r.capacity}`,
        String(r.queue), String(r.receipts ?? '—'), latency(r),
        el('button', { type: 'button', class: 'secondary', text: r.enabled ? 'Disable' : 'Enable',
          'aria-label': (r.enabled ? 'Disable ' : 'Enable ') + r.name, onclick: async () => {
            const ok = await guard(() => call('PUT', '/admin/routes/' + enc(r.name), { enabled: !r.enabled }));
            if (ok) toast(r.name + (r.enabled ? ' disabled' : ' enabled'));
          } })])));
  });
}

function pageNodes() {
  const list = el('div', { id: 'nodes-list' });
  render('Nodes', list, el('p', { class: 'muted', text: 'Live: refreshed every 2 seconds.' }));
  every(2000, async () => {
    const nodes = await get('/admin/nodes');
    list.replaceChildren(table(['Node', 'State', 'Address', 'Version', 'Heartbeat age', 'Slots', 'Leased'],
      nodes.map((n) => [n.name, el('span', { class: n.state === 'alive' ? 'up' : 'down', text: n.state }),
        n.address || '', n.version || '', (n.heartbeatAgeMs / 1000).toFixed(1) + ' s',
        (n.slots || []).map((s) => s.route + '#' + s.slot).join(', ') || '—',
        `${n.messagesLeased} SMS, ${n.callbacksLeased} calls`])));
  });
}

function pageAdminOrders() {
  const list = el('div', { id: 'orders-list' });
  const load = async () => {
    const orders = (await get('/admin/orders')).reverse();
    const act = (o, what) => async () => {
      const r = await guard(() => call('POST', `/admin/orders/${o.orderId}/${what}`, what === 'pay' ? {} : undefined));
      if (r) { toast(`Order ${o.orderId}: ${r.status}`); load(); }
    };
    list.replaceChildren(orders.length ? table(['Order', 'Service', 'Date', 'Credits', 'Price', 'Status', ''],
      orders.map((o) => [String(o.orderId), o.serviceName, fmtTime(o.date), String(o.quantity), o.text || '',
        o.status, o.status === 'unpaid' ? el('span', {},
          el('button', { type: 'button', text: 'Pay', 'aria-label': 'Pay order ' + o.orderId, onclick: act(o, 'pay') }),
          el('button', { type: 'button', class: 'danger', text: 'Cancel', 'aria-label': 'Cancel order ' + o.orderId, onclick: act(o, 'cancel') }))
          : '']))
      : el('p', { text: 'No order.' }));
  };
  render('Orders', list);
  every(5000, load);
}

function pagePrices() {
  const list = el('div', { id: 'prices-list' });
  const load = async () => {
    const p = await get('/admin/prices');
    list.replaceChildren(
      el('p', {}, 'Unknown destination: ' + p.unknownDestination + ' credits per SMS'),
      table(['Country', 'Name', 'Credits per SMS', 'Source', ''], p.destinations.map((d) => {
        const input = el('input', { type: 'number', step: '0.001', min: 0, value: d.credit, 'aria-label': 'Credits per SMS to ' + d.name });
        return [d.country, d.name, input, d.source, el('button', { type: 'button', class: 'secondary', text: 'Save',
          'aria-label': 'Save the price of ' + d.name, onclick: async () => {
            const r = await guard(() => call('PUT', '/admin/prices/destinations/' + d.country, { credit: Number(input.value) }));
            if (r) toast(`${d.name}: ${r.credit} credits`);
          } })];
      })),
      el('h2', { text: 'Packs' }),
      table(['Billing', 'VAT', 'Packs'], p.billing.map((b) => [b.country, b.vatRate + ' %',
        b.packs.map((k) => `${k.quantity}: ${k.text}`).join(' · ')])));
  };
  render('Prices', list);
  guard(load);
}

// ---- start ----

window.addEventListener('hashchange', route);
document.getElementById('logout').addEventListener('click', logout);
(async () => {
  try {
    S.session = await call('GET', '/console/session');
    if (S.session) start(); else showLogin('');
  } catch (e) {
    showLogin('');
  }
})();
