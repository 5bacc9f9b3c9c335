// blobswarm tracker web UI. Plain DOM, no framework, no build step.
//
// Every string from the tracker is put into the page as a text node or an
// attribute value (el() below), never parsed as HTML: a torrent named
// "<img src=x onerror=...>" shows as those characters. State-changing
// requests carry the session's CSRF token (X-CSRF-Token).
'use strict';

const state = {csrf: '', name: '', admin: false, timers: []};

// --- DOM and formatting helpers ---------------------------------------------

// el('a', {href: '/x', class: 'y'}, 'text', child...): strings become text nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + units[i];
}

function ago(unix) {
  if (!unix) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - unix));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}

function when(unix) {
  if (!unix) return el('span', {class: 'muted'}, 'never');
  const d = new Date(unix * 1000);
  const text = d.toLocaleString(undefined, {year: 'numeric', month: 'short', day: 'numeric',
                                            hour: '2-digit', minute: '2-digit'});
  return el('time', {datetime: d.toISOString(), title: d.toString()}, text + ' (' + ago(unix) + ')');
}

function shortHash(h) { return h ? h.slice(0, 12) + '…' : '–'; }

function main() { return document.getElementById('main'); }

function show(...nodes) {
  const m = main();
  m.replaceChildren(...nodes.flat(Infinity).filter(n => n !== null && n !== undefined && n !== false));
}

function every(ms, fn) {
  state.timers.push(setInterval(fn, ms));
}

// --- the JSON API -------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  const method = opts.method || 'GET';
  if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const r = await fetch(path, {method, headers, body, credentials: 'same-origin'});
  if (r.status === 401) {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, 'signed out');
  }
  let data = null;
  const type = r.headers.get('Content-Type') || '';
  if (type.startsWith('application/json')) data = await r.json();
  if (!r.ok) {
    throw new ApiError(r.status, data && data.error ? data.error.message : 'HTTP ' + r.status);
  }
  return data;
}

function errorBox(e) {
  return el('p', {class: 'error', role: 'alert'}, e.message || String(e));
}

// --- pages --------------------------------------------------------------------

function card(label, value, sub) {
  return el('div', {class: 'stat'}, el('div', {class: 'stat-label'}, label),
            el('div', {class: 'stat-value'}, value), sub ? el('div', {class: 'muted'}, sub) : null);
}

// A small line chart: series = [{label, cls, values: [number|null]}], x = minute starts.
function chart(title, starts, series, unit) {
  const w = 560, h = 150, left = 44, bottom = 20, top = 8;
  const all = series.flatMap(s => s.values.filter(v => v !== null));
  const max = Math.max(1, ...all);
  const root = svg('svg', {viewBox: `0 0 ${w} ${h}`, class: 'chart', role: 'img',
                           'aria-label': title});
  const y = v => top + (h - top - bottom) * (1 - v / max);
  const x = i => left + (w - left - 6) * (i / Math.max(1, starts.length - 1));
  for (const f of [0, 0.5, 1]) {
    root.append(svg('line', {x1: left, x2: w - 6, y1: y(max * f), y2: y(max * f), class: 'grid'}));
    const t = svg('text', {x: left - 4, y: y(max * f) + 4, class: 'axis', 'text-anchor': 'end'});
    t.textContent = (max * f >= 10 ? Math.round(max * f) : (max * f).toFixed(1));
    root.append(t);
  }
  [[0, '60 min ago'], [starts.length - 1, 'now']].forEach(([i, label]) => {
    const t = svg('text', {x: x(i), y: h - 4, class: 'axis',
                           'text-anchor': i === 0 ? 'start' : 'end'});
    t.textContent = label;
    root.append(t);
  });
  for (const s of series) {
    let d = '';
    s.values.forEach((v, i) => {
      if (v === null) return;
      d += (d && s.values[i - 1] !== null ? 'L' : 'M') + x(i).toFixed(1) + ',' + y(v).toFixed(1);
    });
    if (d) root.append(svg('path', {d, class: 'line ' + s.cls}));
  }
  const legend = el('div', {class: 'legend'}, series.map(s => {
    const last = [...s.values].reverse().find(v => v !== null);
    return el('span', {class: 'key ' + s.cls}, s.label + ': ' +
              (last === undefined ? '–' : (unit === '/s' ? last.toFixed(2) + '/s' : last)));
  }));
  return el('figure', {class: 'chart-box'}, el('figcaption', {}, title), root, legend);
}

async function pageOverview() {
  const draw = async () => {
    const o = await api('/ui/api/overview');
    const t = o.totals;
    const starts = o.history.map(m => m.start);
    const known = (m, v) => (m.known ? v : null);
    show(
      el('h1', {}, 'Overview'),
      el('section', {class: 'stats', id: 'totals'},
         card('Torrents', t.torrents, `${t.blobs} blobs · ${t.segments} segments · ${t.files} files`),
         card('Peers', t.peers, `${t.seeders} seeding · ${t.leechers} leeching`),
         card('Transferred', bytes(t.uploaded), `up · ${bytes(t.downloaded)} down`),
         card('Completed', t.completed, `downloads of ${bytes(t.size)} registered`),
         card('Users', t.users, `${t.announces} announces since start`)),
      el('section', {class: 'charts'},
         chart('Announces per second, last hour', starts,
               [{label: 'announces', cls: 's1',
                 values: o.history.map(m => known(m, m.announces_per_second))}], '/s'),
         chart('Swarm sizes, last hour', starts,
               [{label: 'peers', cls: 's1', values: o.history.map(m => known(m, m.peers))},
                {label: 'seeders', cls: 's2', values: o.history.map(m => known(m, m.seeders))}])),
      el('h2', {}, `Nodes seen in the last ${Math.round(o.nodes_window / 60)} minutes`),
      o.nodes.length === 0 ? el('p', {class: 'muted', id: 'nodes-empty'}, 'No node has announced recently.')
        : table(['Address', 'Client', 'Zone', 'User', 'Torrents', 'Seeding', 'Last announce'],
                o.nodes.map(n => [n.address, n.client, n.zone || '–', n.user || '–', n.torrents,
                                  n.seeding, when(n.last_seen)]),
                {id: 'nodes', optional: [2, 3, 5]}));
  };
  await draw();
  every(10000, () => draw().catch(() => {}));
}

// rows: arrays of cells (strings or nodes); optional: column indexes hidden on narrow screens.
function table(headers, rows, opts = {}) {
  const optional = new Set(opts.optional || []);
  const head = el('tr', {}, headers.map((h, i) =>
    el('th', {class: optional.has(i) ? 'opt' : null, scope: 'col'}, h)));
  const body = rows.map(r => el('tr', {}, r.map((c, i) =>
    el('td', {class: optional.has(i) ? 'opt' : null}, c))));
  return el('div', {class: 'table-wrap'},
            el('table', {id: opts.id || null}, el('thead', {}, head), el('tbody', {}, body)));
}

function kindBadge(kind) {
  return el('span', {class: 'badge ' + kind, title: kind === 'file' ? 'file (uploaded, or pulled from a URL)' : 'container image ' + kind}, kind);
}

async function pageTorrents() {
  const params = new URLSearchParams(location.search);
  const q = {q: params.get('q') || '', kind: params.get('kind') || 'all',
             sort: params.get('sort') || 'created', dir: params.get('dir') || 'desc',
             page: Number(params.get('page') || 1)};
  const search = el('input', {type: 'search', id: 'search', name: 'q', value: q.q,
                              placeholder: 'name, digest, info-hash, repository', 'aria-label': 'Search'});
  const kind = el('select', {id: 'kind', 'aria-label': 'Kind'},
                  [['all', 'All'], ['blobs', 'Image blobs'], ['files', 'Files']].map(([v, l]) =>
                    el('option', {value: v, selected: v === q.kind}, l)));
  const results = el('div', {id: 'results'});
  const go = (changes) => {
    Object.assign(q, changes);
    const p = new URLSearchParams();
    for (const k of ['q', 'kind', 'sort', 'dir']) if (q[k] && !(k === 'kind' && q[k] === 'all')) p.set(k, q[k]);
    if (q.page > 1) p.set('page', q.page);
    history.replaceState(null, '', '/torrents' + (p.toString() ? '?' + p : ''));
    load();
  };
  const load = async () => {
    let data;
    try {
      data = await api('/ui/api/torrents?' + new URLSearchParams(
        {q: q.q, kind: q.kind, sort: q.sort, dir: q.dir, page: q.page, per_page: 25}));
    } catch (e) { results.replaceChildren(errorBox(e)); return; }
    const columns = [['name', 'Name'], ['size', 'Size'], ['seeders', 'Seeders'],
                     ['leechers', 'Leechers'], ['completed', 'Completed'], ['created', 'Registered']];
    const head = el('tr', {}, columns.map(([key, label], i) => {
      const active = data.sort === key;
      const arrow = active ? (data.dir === 'desc' ? ' ▼' : ' ▲') : '';
      return el('th', {scope: 'col', class: i === 3 || i === 4 ? 'opt' : null,
                       'aria-sort': active ? (data.dir === 'desc' ? 'descending' : 'ascending') : null},
                el('button', {type: 'button', class: 'sort', 'data-sort': key, onclick: () =>
                  go({sort: key, dir: active && data.dir === 'asc' ? 'desc' : active ? 'asc' :
                      (key === 'name' ? 'asc' : 'desc'), page: 1})}, label + arrow));
    }));
    const rows = data.torrents.map(t => el('tr', {'data-id': t.id},
      el('td', {class: 'name'},
         el('div', {}, kindBadge(t.kind), ' ',
            el('a', {href: '/torrents/' + t.id, class: 'torrent-link'}, t.name)),
         t.digest ? el('div', {class: 'sub mono'}, t.digest +
                       (t.segment !== null ? ' · segment ' + t.segment : '')) : null,
         t.repository ? el('div', {class: 'sub'}, t.repository) : null,
         t.source_url ? el('div', {class: 'sub break'}, 'from ' + t.source_url) : null,
         t.uploaded_by ? el('div', {class: 'sub'}, 'uploaded by ' + t.uploaded_by) : null),
      el('td', {class: 'num'}, bytes(t.size)),
      el('td', {class: 'num'}, t.seeders),
      el('td', {class: 'num opt'}, t.leechers),
      el('td', {class: 'num opt'}, t.completed),
      el('td', {}, when(t.created_at))));
    const pages = Math.max(1, Math.ceil(data.total / data.per_page));
    results.replaceChildren(
      data.total === 0 ? el('p', {class: 'muted', id: 'no-results'}, 'No torrent matches.') :
        el('div', {class: 'table-wrap'}, el('table', {id: 'torrents'}, el('thead', {}, head),
                                            el('tbody', {}, rows))),
      el('nav', {class: 'pager', 'aria-label': 'Pages'},
         el('button', {type: 'button', id: 'prev', disabled: data.page <= 1,
                       onclick: () => go({page: data.page - 1})}, '‹ Previous'),
         el('span', {id: 'page-info'}, `Page ${data.page} of ${pages} · ${data.total} torrent${data.total === 1 ? '' : 's'}`),
         el('button', {type: 'button', id: 'next', disabled: data.page >= pages,
                       onclick: () => go({page: data.page + 1})}, 'Next ›')));
  };
  const form = el('form', {class: 'toolbar', id: 'search-form', role: 'search',
                           onsubmit: (ev) => { ev.preventDefault(); go({q: search.value, page: 1}); }},
                  search, kind, el('button', {type: 'submit'}, 'Search'));
  kind.addEventListener('change', () => go({kind: kind.value, page: 1}));
  show(el('h1', {}, 'Torrents'), form, results);
  await load();
}

function progressBar(p) {
  if (p === null) return el('span', {class: 'muted'}, 'unknown');
  const pct = Math.round(p * 1000) / 10;
  const bar = el('span', {class: 'bar'}, el('span', {class: 'fill'}));
  bar.firstChild.style.width = pct + '%';
  return el('span', {class: 'progress', title: pct + '%'}, bar, ' ' + pct + '%');
}

async function pageTorrent() {
  const id = decodeURIComponent(location.pathname.split('/')[2] || '');
  let t;
  try { t = await api('/ui/api/torrents/' + encodeURIComponent(id)); } catch (e) {
    show(el('h1', {}, 'Torrent'), errorBox(e)); return;
  }
  const peersBox = el('div', {id: 'peers-box'});
  const drawPeers = (t) => {
    const headers = ['Address', 'Client', 'Zone', 'Progress', 'Uploaded', 'Downloaded', 'Last announce'];
    if (state.admin) headers.push('User');
    peersBox.replaceChildren(
      el('h2', {}, `Peers (${t.seeders} seeding, ${t.leechers} leeching)`),
      t.peers.length === 0 ? el('p', {class: 'muted', id: 'no-peers'}, 'No peer has announced this torrent recently.') :
        table(headers, t.peers.map(p => {
          const row = [el('span', {class: 'mono'}, p.addresses.join(' ')), p.client, p.zone || '–',
                       progressBar(p.progress), bytes(p.uploaded), bytes(p.downloaded), when(p.last_announce)];
          if (state.admin) row.push(p.user || '–');
          return row;
        }), {id: 'peers', optional: [2, 4, 5]}));
  };
  const facts = [
    ['Kind', kindBadge(t.kind)],
    ['Info-hash v1', t.info_hash_v1 ? el('code', {id: 'ih-v1'}, t.info_hash_v1) : '–'],
    ['Info-hash v2', t.info_hash_v2 ? el('code', {id: 'ih-v2'}, t.info_hash_v2) : '–'],
    ['Size', bytes(t.size)],
    ['Piece size', bytes(t.piece_length)],
    ['Files', t.file_count],
    ['Private', t.private ? 'yes' : 'no'],
    ['Registered', when(t.created_at)],
    ['Completed', t.completed + ' downloads · ' + bytes(t.uploaded) + ' up · ' + bytes(t.downloaded) + ' down'],
  ];
  if (t.digest) facts.push([t.kind === 'file' ? 'Digest' : 'Blob digest', el('code', {}, t.digest + (t.segment !== null ? ' (segment ' + t.segment + ')' : ''))]);
  if (t.repository) facts.push(['Repository', t.repository]);
  if (t.source_url) facts.push(['Pulled from', el('span', {class: 'break', id: 'source-url'}, t.source_url)]);
  if (t.uploaded_by) facts.push(['Uploaded by', t.uploaded_by]);
  if (t.comment) facts.push(['Comment', el('span', {id: 'comment'}, t.comment)]);
  if (t.created_by) facts.push(['Created by', t.created_by]);
  if (t.creation_date) facts.push(['Created', when(t.creation_date)]);
  const magnet = t.magnet && t.magnet.startsWith('magnet:?') ? t.magnet : null;
  show(
    el('p', {class: 'crumbs'}, el('a', {href: '/torrents'}, '‹ Torrents')),
    el('h1', {id: 'torrent-name', class: 'break'}, t.name),
    el('div', {class: 'actions'},
       el('a', {class: 'button', id: 'download', href: '/ui/api/torrents/' + encodeURIComponent(t.id) + '/file',
                download: ''}, 'Download .torrent'),
       magnet ? el('a', {class: 'button secondary', id: 'magnet', href: magnet}, 'Magnet link') : null),
    t.announce_note ? el('p', {class: 'note', id: 'announce-note'}, t.announce_note) : null,
    magnet ? el('input', {class: 'mono copy', readonly: true, value: magnet, 'aria-label': 'Magnet link',
                          onfocus: (ev) => ev.target.select()}) : null,
    el('dl', {class: 'facts'}, facts.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])),
    fetchBox(t),
    peersBox,
    el('h2', {}, `Files (${t.file_count})`),
    table(['Path', 'Size', 'Fetch'], t.files.map(f => [el('span', {class: 'break'}, f.path), bytes(f.size),
      f.fetch_url ? el('a', {class: 'mono break fetch-link', href: f.fetch_url}, f.fetch_url) : '–']),
      {id: 'files', optional: [2]}));
  drawPeers(t);
  every(5000, async () => {
    try { drawPeers(await api('/ui/api/torrents/' + encodeURIComponent(id))); } catch (e) { /* keep */ }
  });
}

// How a node fetches this file through its own blobswarm-mirror (/files).
function fetchBox(t) {
  if (!t.fetch_url) return null;
  const line = (id, url) => el('input', {class: 'mono copy', readonly: true, id, value: 'curl -fLOJ ' + url,
                                         'aria-label': 'Command', onfocus: (ev) => ev.target.select()});
  return el('section', {id: 'fetch'},
    el('h2', {}, 'Fetch on a node'),
    el('p', {class: 'muted'}, t.file_count > 1
      ? 'Each node\'s mirror lists this torrent\'s files (JSON) and serves each from the swarm, with Range:'
      : 'Each node\'s mirror serves this file from the swarm, with Range (curl or wget on the node):'),
    line('fetch-url', t.fetch_url),
    t.fetch_by_url ? el('p', {class: 'muted'}, 'By its URL (the mirror checks the digest):') : null,
    t.fetch_by_url ? line('fetch-by-url', "'" + t.fetch_by_url + "'") : null);
}

async function pageUpload() {
  const input = el('input', {type: 'file', id: 'torrent-file', accept: '.torrent,application/x-bittorrent', required: true});
  const message = el('div', {id: 'upload-result', 'aria-live': 'polite'});
  const button = el('button', {type: 'submit', id: 'upload-submit'}, 'Upload');
  const form = el('form', {class: 'card', id: 'upload-form', onsubmit: async (ev) => {
    ev.preventDefault();
    message.replaceChildren();
    const file = input.files[0];
    if (!file) { message.replaceChildren(el('p', {class: 'error', role: 'alert'}, 'Choose a .torrent file first.')); return; }
    button.disabled = true;
    try {
      const t = await api('/ui/api/torrents', {method: 'POST', body: await file.arrayBuffer(),
                                              headers: {'Content-Type': 'application/x-bittorrent'}});
      message.replaceChildren(el('div', {class: 'ok', id: 'upload-ok'},
        el('p', {}, (t.created ? 'Registered ' : 'Already registered: '),
           el('a', {href: '/torrents/' + t.id, id: 'uploaded-link'}, t.name), ` (${bytes(t.size)}).`),
        t.made_private ? el('p', {class: 'note'},
          'The tracker set the private flag, which gives the torrent a new info-hash (' + t.id +
          ' instead of ' + t.original_info_hash + '). Download the .torrent from its page and seed that one.') : null));
      form.reset();
    } catch (e) {
      message.replaceChildren(el('p', {class: 'error', role: 'alert', id: 'upload-error'}, 'Not registered: ' + e.message));
    } finally { button.disabled = false; }
  }},
  el('label', {}, '.torrent file ', input),
  el('p', {class: 'muted'}, 'Make one with torrentgen create --private <file>. A torrent that is not private becomes private here (private trackers only hand out private torrents); it keeps its files and pieces but gets a new info-hash.'),
  button, message);
  show(el('h1', {}, 'Upload a torrent'), form);
}

function passkeyPanel(name, box) {
  const showKey = (k) => box.replaceChildren(
    el('p', {}, 'Passkey of ', el('strong', {}, name), ': ', el('code', {class: 'passkey'}, k.passkey)),
    el('p', {class: 'muted'}, 'Announce URL: ', el('code', {class: 'break'}, k.announce_url)));
  return {
    show: async () => { try { showKey(await api('/ui/api/users/' + encodeURIComponent(name) + '/passkey')); } catch (e) { box.replaceChildren(errorBox(e)); } },
    rotate: async () => { try { showKey(await api('/ui/api/users/' + encodeURIComponent(name) + '/passkey', {method: 'POST'})); } catch (e) { box.replaceChildren(errorBox(e)); } },
  };
}

async function pageUsers() {
  const panel = el('div', {id: 'user-panel', 'aria-live': 'polite'});
  const list = el('div', {id: 'user-list'});
  const name = el('input', {id: 'new-name', name: 'name', required: true, maxlength: 64, pattern: '[A-Za-z0-9._@\\-]+', autocomplete: 'off'});
  const password = el('input', {id: 'new-password', name: 'password', type: 'password', minlength: 8, autocomplete: 'new-password'});
  const formMsg = el('div', {id: 'create-result'});
  const load = async () => {
    let data;
    try { data = await api('/ui/api/users'); } catch (e) { list.replaceChildren(errorBox(e)); return; }
    list.replaceChildren(data.users.length === 0 ? el('p', {class: 'muted'}, 'No users yet.') :
      table(['Name', 'Created', 'Last announce', 'Uploaded', 'Downloaded', 'Web sign-in', 'Actions'],
        data.users.map(u => {
          const p = passkeyPanel(u.name, panel);
          const revoke = el('button', {type: 'button', class: 'danger', 'data-action': 'revoke'}, 'Revoke');
          revoke.addEventListener('click', async () => {
            if (revoke.dataset.armed !== '1') { revoke.dataset.armed = '1'; revoke.textContent = 'Confirm revoke'; return; }
            try { await api('/ui/api/users/' + encodeURIComponent(u.name), {method: 'DELETE'});
                  panel.replaceChildren(el('p', {class: 'ok'}, 'Revoked ' + u.name + ': the passkey no longer works.'));
                  load(); } catch (e) { panel.replaceChildren(errorBox(e)); }
          });
          const setPw = el('button', {type: 'button', 'data-action': 'password', onclick: () => {
            const input = el('input', {type: 'password', minlength: 8, 'aria-label': 'New password', autocomplete: 'new-password'});
            panel.replaceChildren(el('form', {class: 'inline', onsubmit: async (ev) => {
              ev.preventDefault();
              try { await api('/ui/api/users/' + encodeURIComponent(u.name) + '/password', {method: 'POST', json: {password: input.value}});
                    panel.replaceChildren(el('p', {class: 'ok'}, 'Password of ' + u.name + ' set.')); load(); }
              catch (e) { panel.append(errorBox(e)); }
            }}, el('label', {}, 'New password for ' + u.name + ' ', input), el('button', {type: 'submit'}, 'Set')));
            input.focus();
          }}, 'Set password');
          return [el('strong', {class: 'user-name'}, u.name), when(u.created_at), when(u.last_announce),
                  bytes(u.uploaded), bytes(u.downloaded), u.has_password ? 'yes' : 'no',
                  el('span', {class: 'row-actions', 'data-user': u.name},
                     el('button', {type: 'button', 'data-action': 'show', onclick: p.show}, 'Show passkey'),
                     el('button', {type: 'button', 'data-action': 'rotate', onclick: p.rotate}, 'Rotate passkey'),
                     setPw, revoke)];
        }), {id: 'users', optional: [1, 3, 4, 5]}));
  };
  const form = el('form', {class: 'card inline', id: 'create-user', onsubmit: async (ev) => {
    ev.preventDefault();
    formMsg.replaceChildren();
    try {
      const u = await api('/ui/api/users', {method: 'POST', json: {name: name.value, password: password.value}});
      formMsg.replaceChildren(el('p', {class: 'ok', id: 'created'}, 'Created ', el('strong', {}, u.name),
        '. Passkey: ', el('code', {class: 'passkey'}, u.passkey)));
      form.reset();
      load();
    } catch (e) { formMsg.replaceChildren(el('p', {class: 'error', role: 'alert'}, e.message)); }
  }}, el('h2', {}, 'New user'), el('label', {}, 'Name ', name),
     el('label', {}, 'Password (for the web UI; optional) ', password), el('button', {type: 'submit'}, 'Create'), formMsg);
  show(el('h1', {}, 'Users'), form, panel, list);
  await load();
}

async function pageAccount() {
  const panel = el('div', {id: 'account-panel'});
  const children = [el('h1', {}, 'Account'),
                    el('p', {}, 'Signed in as ', el('strong', {}, state.name), state.admin ? ' (admin token)' : '')];
  if (state.admin) {
    children.push(el('p', {class: 'muted'}, 'The admin has no passkey: .torrent files downloaded as admin carry no tracker. Manage users on the Users page.'));
  } else {
    const p = passkeyPanel(state.name, panel);
    const input = el('input', {type: 'password', id: 'own-password', minlength: 8, autocomplete: 'new-password', required: true});
    const msg = el('div', {});
    children.push(
      el('div', {class: 'actions'},
         el('button', {type: 'button', id: 'show-passkey', onclick: p.show}, 'Show my passkey'),
         el('button', {type: 'button', id: 'rotate-passkey', class: 'secondary', onclick: p.rotate}, 'Rotate my passkey')),
      el('p', {class: 'muted'}, 'Rotating makes the old passkey stop working at once: update your nodes and .torrent files.'),
      panel,
      el('form', {class: 'card inline', onsubmit: async (ev) => {
        ev.preventDefault();
        try { await api('/ui/api/users/' + encodeURIComponent(state.name) + '/password', {method: 'POST', json: {password: input.value}});
              msg.replaceChildren(el('p', {class: 'ok'}, 'Password changed.')); ev.target.reset(); }
        catch (e) { msg.replaceChildren(errorBox(e)); }
      }}, el('label', {}, 'New password ', input), el('button', {type: 'submit'}, 'Change password'), msg));
  }
  show(children);
}

function pageForbidden() {
  show(el('h1', {}, 'Not allowed'),
       el('p', {id: 'forbidden'}, 'This page is for admins only. Sign in with the admin token to manage users.'));
}

// --- start --------------------------------------------------------------------

async function start() {
  const page = document.body.dataset.page;
  try {
    const s = await api('/ui/api/session');
    Object.assign(state, s);
  } catch (e) { return; }
  document.getElementById('who').textContent = state.name + (state.admin ? ' (admin)' : '');
  document.getElementById('nav-users').hidden = !state.admin;
  const current = page === 'torrent' ? 'torrents' : page;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === current) a.setAttribute('aria-current', 'page');
  }
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api('/ui/logout', {method: 'POST'}); } finally { location.assign('/login'); }
  });
  const pages = {overview: pageOverview, torrents: pageTorrents, torrent: pageTorrent,
                 upload: pageUpload, users: pageUsers, account: pageAccount, forbidden: pageForbidden};
  try {
    await (pages[page] || pageForbidden)();
  } catch (e) {
    if (e.status !== 401) show(el('h1', {}, 'Error'), errorBox(e));
  }
  document.body.dataset.ready = '1';
}

start();
