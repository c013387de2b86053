// The live fleet page: plain browser JavaScript served as is (no build step). The fleet is drawn on
// one canvas, repainted at most once per animation frame however many deltas arrive, so a fleet of
// 10,000 clusters costs no DOM nodes per cluster. The feed protocol is documented in docs/protocol.md.
'use strict';

(function () {
  const STATUSES = ['Connected', 'Connecting', 'Offline', 'Expired', 'AgentNotInstalled'];
  const COLORS = {};
  for (const s of STATUSES)
    COLORS[s] =
      getComputedStyle(document.documentElement)
        .getPropertyValue('--' + s)
        .trim() || '#999';
  const API_VERSION = '2024-01-01';

  const clusters = new Map(); // key -> tile {k, n, s, p, l, d, a}
  let order = []; // keys shown, sorted by name
  let layout = { size: 12, gap: 2, cols: 1 };
  let seq = -1;
  let chaos = false;
  let selected = null;
  let dirty = { tiles: true, counts: true, filters: true };
  // Tiles whose colour changed in place (same position): repainted alone, without a new layout.
  let changed = new Set();
  let position = new Map(); // key -> index in order
  let counts = { connectivityStatus: {}, provisioningState: {}, agentVersion: {}, outOfSupport: 0 };
  let ws = null;
  const stats = {
    messages: 0,
    deltas: 0,
    snapshots: 0,
    paints: 0,
    paintMs: 0,
    maxPaintMs: 0,
    applyMs: 0,
    tilesUpdated: 0,
    since: performance.now(),
  };

  const $ = (id) => document.getElementById(id);
  const canvas = $('tiles');
  const ctx = canvas.getContext('2d');
  const filters = { l: $('f-location'), d: $('f-distribution'), s: $('f-status') };

  function text(el, value) {
    if (el.textContent !== value) el.textContent = value;
  }

  // ---- feed ---------------------------------------------------------------------------------
  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    ws = new WebSocket(proto + '//' + location.host + '/arcfleet/v1/feed');
    $('conn').dataset.state = 'connecting';
    text($('conn'), 'connecting…');
    ws.onopen = function () {
      $('conn').dataset.state = 'open';
      text($('conn'), 'live');
    };
    ws.onclose = function () {
      $('conn').dataset.state = 'closed';
      text($('conn'), 'disconnected; retrying');
      seq = -1;
      setTimeout(connect, 1000);
    };
    ws.onmessage = function (ev) {
      const t0 = performance.now();
      const msg = JSON.parse(ev.data);
      stats.messages++;
      if (msg.type === 'snapshot') applySnapshot(msg);
      else if (msg.type === 'delta') {
        if (seq >= 0 && msg.seq !== seq + 1) {
          ws.send(JSON.stringify({ type: 'resync' }));
          return;
        }
        applyDelta(msg);
      }
      stats.applyMs += performance.now() - t0;
      ws.send(JSON.stringify({ type: 'ack', seq: msg.seq }));
    };
  }

  function applySnapshot(msg) {
    stats.snapshots++;
    seq = msg.seq;
    chaos = msg.chaos;
    clusters.clear();
    for (const t of msg.clusters) clusters.set(t.k, t);
    counts = msg.counts;
    $('events').replaceChildren();
    addEvents(msg.events);
    dirty = { tiles: true, counts: true, filters: true };
    schedule();
  }

  function applyDelta(msg) {
    stats.deltas++;
    seq = msg.seq;
    let newLabels = false;
    for (const t of msg.upsert) {
      const old = clusters.get(t.k);
      if (!old || old.l !== t.l || old.d !== t.d) newLabels = true;
      if (old && old.n === t.n && visible(old) && visible(t)) changed.add(t.k);
      else dirty.tiles = true;
      clusters.set(t.k, t);
    }
    for (const k of msg.remove) clusters.delete(k);
    stats.tilesUpdated += msg.upsert.length + msg.remove.length;
    counts = msg.counts;
    addEvents(msg.events);
    if (msg.remove.length > 0) dirty.tiles = true;
    dirty.counts = true;
    if (newLabels || msg.remove.length > 0) dirty.filters = true;
    if (selected && msg.upsert.some((t) => t.k === selected)) refreshDetail(false);
    schedule();
  }

  // ---- rendering (batched: one paint per frame) ---------------------------------------------
  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(function () {
      scheduled = false;
      paint();
    });
  }

  function visible(t) {
    return (
      (!filters.l.value || t.l === filters.l.value) &&
      (!filters.d.value || t.d === filters.d.value) &&
      (!filters.s.value || t.s === filters.s.value)
    );
  }

  function paint() {
    const t0 = performance.now();
    stats.paints++;
    if (dirty.filters) fillFilters();
    if (dirty.counts) paintCounts();
    if (dirty.tiles || dirty.filters) paintTiles();
    else for (const k of changed) if (position.has(k)) drawTile(position.get(k), clusters.get(k));
    changed = new Set();
    dirty = { tiles: false, counts: false, filters: false };
    $('chaos-selection').hidden = !chaos;
    const ms = performance.now() - t0;
    stats.paintMs += ms;
    stats.maxPaintMs = Math.max(stats.maxPaintMs, ms);
  }

  function paintCounts() {
    const chips = STATUSES.filter((s) => counts.connectivityStatus[s]).map(function (s) {
      const el = document.createElement('span');
      el.className = 'chip';
      el.id = 'count-' + s;
      el.style.background = COLORS[s];
      el.dataset.count = String(counts.connectivityStatus[s]);
      el.textContent = s + ' ' + counts.connectivityStatus[s];
      return el;
    });
    $('counts').replaceChildren.apply($('counts'), chips);
    const prov = Object.keys(counts.provisioningState)
      .sort()
      .map(function (p) {
        const el = document.createElement('span');
        el.className = 'chip';
        el.textContent = p + ' ' + counts.provisioningState[p];
        return el;
      });
    $('prov').replaceChildren.apply($('prov'), prov);
    paintVersions();
  }

  /** The rollout: clusters by agent version (newest first), and how many are out of support. */
  function paintVersions() {
    const byVersion = counts.agentVersion || {};
    const newestFirst = function (a, b) {
      const x = a.split('.').map(Number);
      const y = b.split('.').map(Number);
      return y[0] - x[0] || y[1] - x[1] || y[2] - x[2];
    };
    const chips = Object.keys(byVersion)
      .sort(newestFirst)
      .map(function (v) {
        const el = document.createElement('span');
        el.className = 'chip';
        el.dataset.version = v;
        el.dataset.count = String(byVersion[v]);
        el.textContent = 'agents ' + v + ' ' + byVersion[v];
        return el;
      });
    if (counts.outOfSupport > 0) {
      const el = document.createElement('span');
      el.className = 'chip unsupported';
      el.id = 'out-of-support';
      el.dataset.count = String(counts.outOfSupport);
      el.textContent = 'out of support ' + counts.outOfSupport;
      el.title = 'agents more than N-2 minor versions behind the latest release';
      chips.push(el);
    }
    $('versions').replaceChildren.apply($('versions'), chips);
  }

  function fillFilters() {
    const values = { l: new Set(), d: new Set(), s: new Set() };
    for (const t of clusters.values()) {
      values.l.add(t.l);
      values.d.add(t.d);
      values.s.add(t.s);
    }
    for (const f of ['l', 'd', 's']) {
      const select = filters[f];
      const current = select.value;
      const wanted = [''].concat([...values[f]].filter(Boolean).sort());
      const have = [...select.options].map((o) => o.value);
      if (have.join('\n') === wanted.join('\n')) continue;
      select.replaceChildren.apply(
        select,
        wanted.map(function (v) {
          const o = document.createElement('option');
          o.value = v;
          o.textContent = v || 'all';
          return o;
        }),
      );
      select.value = wanted.includes(current) ? current : '';
    }
  }

  function paintTiles() {
    order = [...clusters.values()]
      .filter(visible)
      .sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0))
      .map((t) => t.k);
    const width = canvas.clientWidth || 800;
    const n = Math.max(order.length, 1);
    const size = n > 5000 ? 6 : n > 1000 ? 9 : n > 200 ? 14 : 22;
    const gap = size > 10 ? 2 : 1;
    const cols = Math.max(1, Math.floor((width + gap) / (size + gap)));
    const rows = Math.ceil(n / cols);
    layout = { size: size, gap: gap, cols: cols };
    const dpr = window.devicePixelRatio || 1;
    const height = rows * (size + gap);
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
      canvas.style.height = height + 'px';
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    position = new Map();
    for (let i = 0; i < order.length; i++) {
      position.set(order[i], i);
      drawTile(i, clusters.get(order[i]));
    }
    text($('shown'), order.length + ' of ' + clusters.size + ' shown');
  }

  function drawTile(i, t) {
    const size = layout.size;
    const x = (i % layout.cols) * (size + layout.gap);
    const y = Math.floor(i / layout.cols) * (size + layout.gap);
    ctx.clearRect(x, y, size, size);
    ctx.fillStyle = COLORS[t.s] || '#999';
    ctx.fillRect(x, y, size, size);
    if (t.a === 'Failed' && size >= 9) {
      ctx.fillStyle = '#000';
      ctx.fillRect(x + size / 2 - 1, y + size / 2 - 1, 2, 2);
    }
    if (t.k === selected) {
      ctx.strokeStyle = '#000';
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, y + 1, size - 2, size - 2);
    }
  }

  function paintLegend() {
    $('legend').replaceChildren.apply(
      $('legend'),
      STATUSES.map(function (s) {
        const el = document.createElement('span');
        const swatch = document.createElement('i');
        swatch.style.background = COLORS[s];
        el.append(swatch, s);
        return el;
      }),
    );
  }

  // ---- transitions feed ---------------------------------------------------------------------
  function addEvents(events) {
    const list = $('events');
    for (const e of events) {
      const li = document.createElement('li');
      li.textContent = e.time.slice(0, 19).replace('T', ' ') + '  ' + e.name + ': ' + e.from + ' → ' + e.to;
      list.prepend(li);
    }
    while (list.children.length > 50) list.lastChild.remove();
  }

  // ---- detail view --------------------------------------------------------------------------
  function select(key) {
    selected = key;
    dirty.tiles = true;
    schedule();
    refreshDetail(true);
  }

  async function refreshDetail(full) {
    const t = clusters.get(selected);
    if (!t) return;
    $('detail').hidden = false;
    text($('detail-name'), t.n);
    const status = $('detail-status');
    text(status, t.s);
    status.dataset.status = t.s;
    status.style.background = COLORS[t.s] || '#999';
    $('detail-chaos').hidden = !chaos;
    if (!full && !$('detail-json').textContent) return;
    const res = await fetch('/arcfleet/v1/clusters/' + encodeURIComponent(t.k));
    if (!res.ok || selected !== t.k) return;
    const body = await res.json();
    text($('detail-json'), JSON.stringify(body.resource, null, 2));
    const profile = body.resource.properties.arcAgentProfile || {};
    const errors = profile.agentErrors || [];
    const rows = (profile.systemComponents || []).map(function (c) {
      const tr = document.createElement('tr');
      const failing = errors.filter((e) => e.component === c.type).map((e) => e.message);
      for (const v of [c.type, c.currentVersion || '', failing.length ? failing.join('; ') : 'running'])
        tr.append(Object.assign(document.createElement('td'), { textContent: v }));
      return tr;
    });
    $('detail-agents').replaceChildren.apply($('detail-agents'), rows);
    const items = (body.transitions || [])
      .slice()
      .reverse()
      .map(function (tr) {
        const li = document.createElement('li');
        const at =
          tr.atMs !== undefined ? new Date(tr.atMs).toISOString().slice(0, 19).replace('T', ' ') : '';
        li.textContent = at + '  ' + tr.from + ' → ' + tr.to + (tr.reason ? ' (' + tr.reason + ')' : '');
        return li;
      });
    $('detail-transitions').replaceChildren.apply($('detail-transitions'), items);
  }

  // `endpoint`: one endpoint class of the clusters' egress (the gateway maps it to its agents), or all.
  async function chaosAction(action, names, endpoint) {
    const body = { action: action, mode: 'drop', targets: { clusters: names } };
    if (endpoint) body.endpoints = [endpoint];
    const res = await fetch('/arcfleet/v1/chaos', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await res.json().catch(() => ({}));
    text(
      $('chaos-result'),
      res.ok
        ? action +
            (endpoint ? ' (' + endpoint + ')' : '') +
            ': ' +
            (answer.clusters || []).length +
            ' cluster(s)'
        : (answer.error && answer.error.message) || 'failed',
    );
  }

  // ---- wiring -------------------------------------------------------------------------------
  canvas.addEventListener('click', function (ev) {
    const rect = canvas.getBoundingClientRect();
    const col = Math.floor((ev.clientX - rect.left) / (layout.size + layout.gap));
    const row = Math.floor((ev.clientY - rect.top) / (layout.size + layout.gap));
    if (col >= layout.cols) return;
    const key = order[row * layout.cols + col];
    if (key) select(key);
  });
  for (const f of Object.values(filters))
    f.addEventListener('change', function () {
      dirty.tiles = true;
      schedule();
    });
  $('find').addEventListener('keydown', function (ev) {
    if (ev.key !== 'Enter') return;
    const name = $('find').value.trim().toLowerCase();
    for (const t of clusters.values())
      if (t.n.toLowerCase() === name) {
        select(t.k);
        return;
      }
  });
  $('cut-one').addEventListener('click', () =>
    chaosAction('cut', [clusters.get(selected).n], $('chaos-reach').value),
  );
  $('restore-one').addEventListener('click', () =>
    chaosAction('restore', [clusters.get(selected).n], $('chaos-reach').value),
  );
  function shownNames() {
    return order.map((k) => clusters.get(k).n);
  }
  $('cut-selection').addEventListener('click', () => chaosAction('cut', shownNames()));
  $('restore-selection').addEventListener('click', () => chaosAction('restore', shownNames()));
  window.addEventListener('resize', function () {
    dirty.tiles = true;
    schedule();
  });

  // For tests and curious users: the page's model, read-only.
  window.arcfleet = {
    status: function (name) {
      for (const t of clusters.values()) if (t.n === name) return t.s;
      return undefined;
    },
    stats: function () {
      const seconds = (performance.now() - stats.since) / 1000;
      return Object.assign({ seq: seq, clusters: clusters.size, seconds: seconds }, stats);
    },
    apiVersion: API_VERSION,
  };

  paintLegend();
  connect();
})();
