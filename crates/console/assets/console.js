// The duty officer's console. Plain ES module, no build step. Every request goes to this
// service: the session cookie authenticates it, the CSRF token (from /console/session) goes
// with every state-changing one. The page decides nothing about who may see what: it shows
// what the party's API returns.

/* global L, topojson */

const $ = (id) => document.getElementById(id);
// Text for Leaflet tooltips as a node: Leaflet would parse a string as HTML.
const txt = (s) => { const e = document.createElement('span'); e.textContent = s; return e; };
const API = '/console/v1';

const state = {
  session: null,
  strings: {},
  lang: 'en',
  key: null, // CryptoKey (Ed25519, non-extractable), from a file the officer picks
  alerts: new Map(), // conflict_id -> latest AlertView
  line: new Map(), // message id -> LineMessageView
  selected: null, // message id
  showOriginal: false,
  events: [],
  tracks: [],
  notifications: [],
  agreement: null,
  linkTests: [],
  serverSkewMs: 0,
  lastSeq: 0, // the last event handled
};

// ---- strings ------------------------------------------------------------------------------

function t(key, vars) {
  let s = state.strings[key] ?? key;
  for (const [k, v] of Object.entries(vars ?? {})) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

function translatePage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
}

// ---- time ---------------------------------------------------------------------------------

const now = () => Date.now() + state.serverSkewMs;
const pad = (n) => String(n).padStart(2, '0');

function offsetText(minutes) {
  const sign = minutes < 0 ? '-' : '+';
  const m = Math.abs(minutes);
  return `${sign}${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
}

// The officer's local offset (this workstation's time zone), shown beside UTC.
const localOffsetMin = () => -new Date().getTimezoneOffset();

function utcTime(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}

function localTime(ms) {
  const d = new Date(ms + localOffsetMin() * 60000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} ${offsetText(localOffsetMin())}`;
}

function bothTimes(ms) {
  return `${utcTime(ms)} (${localTime(ms)})`;
}

function countdown(ms) {
  const s = Math.round(ms / 1000);
  const a = Math.abs(s);
  const text = a >= 3600 ? `${Math.floor(a / 3600)}h${pad(Math.floor((a % 3600) / 60))}m`
    : `${Math.floor(a / 60)}:${pad(a % 60)}`;
  return s < 0 ? `−${text}` : text;
}

// ---- HTTP ---------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['x-csrf-token'] = state.session?.csrf_token ?? '';
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) {
    if (r.status === 401) signedOut();
    throw new HttpError(r.status, data);
  }
  return data;
}

function signedOut() {
  $('app').hidden = true;
  $('signed-out').hidden = false;
}

// ---- the party's key (signing the record's entries) ---------------------------------------

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410 §7).
const PKCS8_ED25519 = hexToBytes('302e020100300506032b657004220420');

async function loadKey(file) {
  const text = (await file.text()).trim();
  const prefix = state.session.secret_key_prefix;
  const hex = text.startsWith(prefix) ? text.slice(prefix.length) : '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(t('key.bad'));
  const der = new Uint8Array(PKCS8_ED25519.length + 32);
  der.set(PKCS8_ED25519);
  der.set(hexToBytes(hex), PKCS8_ED25519.length);
  return crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
}

function b64ToBytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function bytesToB64(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s);
}

async function signInput(b64) {
  if (!state.key) throw new Error(t('key.needed'));
  return bytesToB64(await crypto.subtle.sign({ name: 'Ed25519' }, state.key, b64ToBytes(b64)));
}

function renderKeyState(error) {
  const el = $('key-state');
  el.dataset.state = error ? 'bad' : state.key ? 'loaded' : 'none';
  el.textContent = error ? error : state.key ? t('key.loaded') : t('key.none');
}

// ---- the map ------------------------------------------------------------------------------

let map;
const layers = {};

// Rings that cross the antimeridian are unwrapped (longitudes made continuous) and drawn a
// second time shifted by 360°, so that no polygon streaks across the whole map.
function unwrapRing(ring) {
  const out = [];
  let prev = null;
  for (const [lon0, lat] of ring) {
    let lon = lon0;
    if (prev !== null) {
      while (lon - prev > 180) lon -= 360;
      while (prev - lon > 180) lon += 360;
    }
    out.push([lat, lon]);
    prev = lon;
  }
  return out;
}

function cutPolygons(geometry) {
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates]
    : geometry.type === 'MultiPolygon' ? geometry.coordinates : [];
  const out = [];
  for (const poly of polys) {
    const rings = poly.map(unwrapRing);
    out.push(rings);
    const lons = rings.flat().map((p) => p[1]);
    if (Math.max(...lons) > 180) out.push(rings.map((r) => r.map(([a, o]) => [a, o - 360])));
    if (Math.min(...lons) < -180) out.push(rings.map((r) => r.map(([a, o]) => [a, o + 360])));
  }
  return out;
}

async function initMap() {
  map = L.map('map', { zoomControl: true, attributionControl: true, worldCopyJump: false })
    .setView([35.0, 38.5], 7);
  map.attributionControl.setPrefix('');
  map.attributionControl.addAttribution('Natural Earth · Leaflet');
  const world = await (await fetch('/console/assets/vendor/world-atlas/countries-50m.json')).json();
  const countries = topojson.feature(world, world.objects.countries);
  const land = L.layerGroup().addTo(map);
  for (const f of countries.features) {
    for (const rings of cutPolygons(f.geometry)) {
      L.polygon(rings, { className: 'country', interactive: false }).addTo(land);
    }
  }
  const region = await (await fetch('/console/assets/region.geojson')).json();
  L.geoJSON(region, {
    interactive: false,
    style: () => ({ className: 'river' }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 3, className: 'town' })
      .bindTooltip(txt(f.properties.name), { permanent: true, direction: 'right', className: 'town-label' }),
  }).addTo(map);
  layers.geography = L.layerGroup().addTo(map);
  layers.notifications = L.layerGroup().addTo(map);
  layers.tracks = L.layerGroup().addTo(map);
  layers.pairs = L.layerGroup().addTo(map);
}

function drawGeography(fc) {
  layers.geography.clearLayers();
  L.geoJSON(fc, {
    style: (f) => ({ className: f.properties.kind === 'zone' ? 'zone' : 'dividing-line' }),
    pointToLayer: (f, ll) => L.circle(ll, { radius: f.properties.radius_m ?? 1000, className: 'zone' }),
    onEachFeature: (f, layer) => layer.bindTooltip(txt(f.properties.name ?? f.properties.id)),
  }).addTo(layers.geography);
}

function drawNotifications() {
  layers.notifications.clearLayers();
  for (const n of state.notifications) {
    if (!n.area || n.status === 'withdrawn') continue;
    const cls = `volume ${n.party === state.session.party ? 'own' : 'other'}${n.strike_warning ? ' strike' : ''}`;
    let shape;
    if (n.area.kind === 'circle') {
      shape = L.circle([n.area.centre.lat_deg, n.area.centre.lon_deg], { radius: n.area.radius_m, className: cls });
    } else if (n.area.kind === 'polygon') {
      shape = L.polygon(n.area.points.map((p) => [p.lat_deg, p.lon_deg]), { className: cls });
    }
    if (!shape) continue;
    const alt = n.alt_min_m !== undefined ? ` ${Math.round(n.alt_min_m)}–${Math.round(n.alt_max_m)} m` : '';
    const when = n.start_unix_ms !== undefined ? ` ${utcTime(n.start_unix_ms)}–${utcTime(n.end_unix_ms)}` : '';
    shape.bindTooltip(txt(`${n.party} ${n.id}${alt}${when}`)).addTo(layers.notifications);
  }
}

function trackKey(tr) {
  return `${tr.party}/${tr.track_id}`;
}

function activePairs() {
  const keys = new Set();
  for (const a of state.alerts.values()) {
    if (!isActive(a)) continue;
    if (a.own) keys.add(trackKey(a.own));
    if (a.other) keys.add(trackKey(a.other));
  }
  return keys;
}

function trackLabel(tr) {
  const parts = [tr.callsign ?? tr.track_id];
  if (tr.alt_m !== undefined) parts.push(`${Math.round(tr.alt_m)} m`);
  return parts.join(' ');
}

function trackDetails(tr) {
  const skip = new Set(['party', 'track_id']);
  const rows = Object.entries(tr).filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}: ${typeof v === 'number' ? Math.round(v * 1000) / 1000 : v}`);
  return `${tr.party} ${tr.track_id}\n${rows.join('\n')}`;
}

function drawTracks() {
  layers.tracks.clearLayers();
  const hot = activePairs();
  for (const tr of state.tracks) {
    if (tr.lat_deg === undefined || tr.lon_deg === undefined) continue;
    const own = tr.party === state.session.party;
    const cls = `track ${own ? 'own' : 'other'}${hot.has(trackKey(tr)) ? ' in-conflict' : ''}`;
    L.circleMarker([tr.lat_deg, tr.lon_deg], { radius: own ? 7 : 6, className: cls })
      .bindTooltip(txt(trackLabel(tr)), { permanent: true, direction: 'top', className: `track-label ${own ? 'own' : 'other'}` })
      .bindPopup(`<pre></pre>`)
      .on('popupopen', (e) => { e.popup.getElement().querySelector('pre').textContent = trackDetails(tr); })
      .addTo(layers.tracks);
  }
  layers.pairs.clearLayers();
  for (const a of state.alerts.values()) {
    if (!isActive(a) || !a.own || !a.other) continue;
    const pts = [a.own, a.other].filter((x) => x.lat_deg !== undefined && x.lon_deg !== undefined);
    if (pts.length === 2) {
      L.polyline(pts.map((x) => [x.lat_deg, x.lon_deg]), { className: `pair level-${a.level}` }).addTo(layers.pairs);
    }
  }
}

// ---- alerts -------------------------------------------------------------------------------

// An alert is shown while its conflict has not ended; any level name the service sends is
// shown (unknown ones by name), styled by its name and by its numeric level when present.
function isActive(a) {
  return a.kind !== 'ended' && a.level !== 'none';
}

function levelText(level) {
  const key = `level.${level}`;
  return state.strings[key] ?? String(level).toUpperCase();
}

function onAlert(a) {
  const prev = state.alerts.get(a.conflict_id);
  if (!prev || prev.created_unix_ms <= a.created_unix_ms) state.alerts.set(a.conflict_id, a);
}

function renderAlerts() {
  const ol = $('alerts');
  ol.replaceChildren();
  const list = [...state.alerts.values()].filter(isActive)
    .sort((x, y) => (y.alert_level ?? 0) - (x.alert_level ?? 0) || y.created_unix_ms - x.created_unix_ms);
  if (list.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('alerts.none');
    ol.append(li);
  }
  for (const a of list) {
    const li = document.createElement('li');
    li.className = `alert level-${a.level}`;
    if (a.alert_level !== undefined) li.classList.add(`alert-level-${a.alert_level}`);
    li.dataset.conflictId = a.conflict_id;
    li.dataset.alertId = a.alert_id;
    li.dataset.level = a.level;
    const lvl = document.createElement('b');
    lvl.className = 'level';
    lvl.textContent = levelText(a.level);
    const ttv = document.createElement('span');
    ttv.className = 'ttv';
    if (a.time_to_los_s !== undefined) {
      ttv.dataset.losAt = String(a.created_unix_ms + a.time_to_los_s * 1000);
    }
    const pair = document.createElement('span');
    pair.className = 'pair-names';
    const own = a.own ? (a.own.callsign ?? a.own.track_id) : (a.own_notification ?? '?');
    const other = a.other ? `${a.other.party} ${a.other.callsign ?? a.other.track_id}`
      : `${a.other_notification?.party ?? ''} ${a.other_notification?.id ?? ''}`;
    pair.textContent = `${t('own')} ${own} ↔ ${t('other')} ${other}`;
    const extra = document.createElement('span');
    extra.className = 'closest';
    if (a.closest_h_m !== undefined) extra.textContent = `${t('closest')} ${Math.round(a.closest_h_m)} m`;
    li.append(lvl, ttv, pair, extra);
    ol.append(li);
  }
  tickCountdowns();
}

// ---- the line -----------------------------------------------------------------------------

function onLineView(v) {
  if (!v?.message?.id) return;
  state.line.set(v.message.id, v);
}

function kindText(kind) {
  return state.strings[`kind.${kind}`] ?? kind;
}

function partyName(id) {
  return state.session.parties.find((p) => p.id === id)?.name ?? id;
}

function lineOrder() {
  // What awaits my acknowledgement first (overdue first), then the rest, newest first.
  const me = state.session.party;
  const score = (v) => (v.to === me && !v.acknowledged ? (v.overdue_unix_ms ? 0 : 1) : 2);
  return [...state.line.values()]
    .filter((v) => v.kind !== 'acknowledgement')
    .sort((a, b) => score(a) - score(b) || b.sent_unix_ms - a.sent_unix_ms)
    .slice(0, 50);
}

function renderLine() {
  const ol = $('line-items');
  ol.replaceChildren();
  const me = state.session.party;
  const items = lineOrder();
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('line.none');
    ol.append(li);
  }
  if (!state.selected && items.length) state.selected = items[0].message.id;
  for (const v of items) {
    const li = document.createElement('li');
    const mine = v.to === me;
    li.className = `line-item kind-${v.kind}`;
    li.dataset.messageId = v.message.id;
    li.dataset.kind = v.kind;
    li.dataset.acknowledged = v.acknowledged ? 'true' : 'false';
    if (v.overdue_unix_ms && !v.acknowledged) li.classList.add('overdue');
    if (v.level > 0 && !v.acknowledged) li.classList.add('escalated');
    if (mine && !v.acknowledged && v.deadline_unix_ms) li.classList.add('to-ack');
    if (v.message.id === state.selected) li.classList.add('selected');
    const kind = document.createElement('b');
    kind.textContent = kindText(v.kind);
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = t('from_to', { from: partyName(v.from), to: partyName(v.to) });
    const at = document.createElement('span');
    at.className = 'at';
    at.textContent = bothTimes(v.sent_unix_ms);
    const status = document.createElement('span');
    status.className = 'status';
    if (v.acknowledged) {
      status.classList.add('acked');
      status.textContent = t('acked_by', { officer: v.acknowledged.officer, time: bothTimes(v.acknowledged.at_unix_ms) });
    } else if (v.deadline_unix_ms) {
      const deadline = v.holder_deadline_unix_ms ?? v.deadline_unix_ms;
      const cd = document.createElement('span');
      cd.className = 'countdown';
      cd.dataset.deadline = String(deadline);
      status.append(cd);
      if (v.overdue_unix_ms) status.append(` ${t('overdue')}`);
      if (v.level > 0) status.append(` ${t('escalated', { n: v.level })}`);
      if (v.holder) status.append(` → ${v.holder}`);
      if (!mine) status.append(` ${t('awaiting')}`);
    }
    li.append(kind, who, at, status);
    if (mine && !v.acknowledged && v.deadline_unix_ms) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'ack';
      b.textContent = t('ack');
      b.addEventListener('click', (e) => { e.stopPropagation(); acknowledge(v.message.id); });
      li.append(b);
    }
    li.addEventListener('click', () => select(v.message.id));
    ol.append(li);
  }
  tickCountdowns();
}

function select(id) {
  state.selected = id;
  state.showOriginal = false;
  // A reply answers the selected message: nothing to type.
  $('f-in-reply-to').value = id ?? '';
  renderLine();
  showConversation();
}

function moveSelection(step) {
  const items = lineOrder();
  if (items.length === 0) return;
  const i = items.findIndex((v) => v.message.id === state.selected);
  const next = items[Math.min(items.length - 1, Math.max(0, (i < 0 ? 0 : i + step)))];
  select(next.message.id);
}

async function showConversation() {
  const v = state.line.get(state.selected);
  const pre = $('conversation');
  if (!v) { pre.textContent = ''; return; }
  const s = v.message.subject;
  // The original: the conversation in its author's language, and the message as signed.
  const lang = state.showOriginal ? (state.session.parties.find((p) => p.id === v.from)?.language ?? 'en') : state.lang;
  const q = `lang=${encodeURIComponent(lang)}&utc_offset=${encodeURIComponent(offsetText(localOffsetMin()))}`;
  try {
    const c = await call('GET', `${API}/line/conversations/${encodeURIComponent(s.kind)}/${encodeURIComponent(s.id)}?${q}`);
    pre.dataset.lang = c.lang;
    pre.textContent = state.showOriginal ? `${c.text}\n\n${JSON.stringify(v.message, null, 1)}` : c.text;
  } catch (e) {
    pre.textContent = e.message;
  }
  $('toggle-original').textContent = state.showOriginal ? t('translated') : t('original');
}

async function acknowledge(id) {
  const v = state.line.get(id);
  if (!v) return;
  try {
    const time = now();
    const toSign = await call('POST', '/console/entries/ack', { message_id: id, time_unix_ms: time });
    const signature = await signInput(toSign.signing_input);
    await call('POST', `${API}/line/messages/${encodeURIComponent(id)}/ack`, {
      officer: state.session.officer, time_unix_ms: time, entry_signature: signature,
    });
    onLineView(await call('GET', `${API}/line/messages/${encodeURIComponent(id)}`));
    renderLine();
  } catch (e) {
    flash(e.message);
  }
}

function flash(text) {
  $('send-result').textContent = text;
}

// ---- sending ------------------------------------------------------------------------------

function formBody() {
  const type = $('f-type').value;
  if (type === 'strike_warning') {
    const num = (id) => Number($(id).value);
    const start = now() + num('f-start') * 60000;
    return {
      subject: { kind: 'general', id: `strike-${Math.floor(now() / 1000)}` },
      body: {
        type: 'strike_warning',
        activity: $('f-activity').value,
        area: {
          shape: 'circle',
          centre: { lat_udeg: Math.round(num('f-lat') * 1e6), lon_udeg: Math.round(num('f-lon') * 1e6) },
          radius_mm: Math.round(num('f-radius') * 1e6),
        },
        altitude_block: { lower_mm: Math.round(num('f-lower') * 1000), upper_mm: Math.round(num('f-upper') * 1000) },
        window: { start_ms: Math.round(start), end_ms: Math.round(start + num('f-duration') * 60000) },
      },
    };
  }
  const of = state.line.get($('f-in-reply-to').value.trim());
  return {
    subject: of ? of.message.subject : { kind: 'general', id: 'reply' },
    body: { type: 'reply', in_reply_to: $('f-in-reply-to').value.trim(), answer: $('f-answer').value },
  };
}

async function send(e) {
  e.preventDefault();
  try {
    const draft = formBody();
    const toSign = await call('POST', '/console/entries/message', { to: $('f-to').value, ...draft });
    const signature = await signInput(toSign.signing_input);
    const r = await call('POST', `${API}/line/messages`, { message: toSign.message, entry_signature: signature });
    flash(`${t('form.sent')}: ${r.message_id}`);
    $('send-result').dataset.messageId = r.message_id;
    onLineView(await call('GET', `${API}/line/messages/${encodeURIComponent(r.message_id)}`));
    renderLine();
  } catch (err) {
    flash(err.message);
  }
}

// ---- header: agreement, reachability, clock, stream ----------------------------------------

function renderAgreement() {
  const a = state.agreement;
  if (!a) return;
  const el = $('agreement-status');
  el.dataset.status = a.status;
  el.textContent = t(`status.${a.status}`);
  const cond = a.conditions ?? a.reason ?? a.reactivation?.conditions;
  $('agreement-conditions').textContent = cond ? ` · ${cond}` : '';
  const reach = $('reachability');
  reach.replaceChildren();
  for (const p of state.session.parties) {
    const span = document.createElement('span');
    span.className = 'reach-party';
    span.dataset.party = p.id;
    const heard = a.reachability?.line?.find((r) => r.party === p.id);
    const lt = (state.linkTests.length ? state.linkTests : a.reachability?.link_tests ?? [])
      .find((r) => r.party === p.id);
    span.classList.add(heard?.reachable ? 'reachable' : 'unreachable');
    const ago = heard?.last_heard_unix_ms ? t('reach.heard', { ago: countdown(now() - heard.last_heard_unix_ms) }) : t('reach.never');
    const tests = lt ? ` · ${t('link.answered')} ${lt.in_time}, ${t('link.late')} ${lt.late}, ${t('link.missed')} ${lt.missed}, ${t('link.pending')} ${lt.pending}` : '';
    span.textContent = `${p.name}: ${ago}${tests}`;
    reach.append(span);
  }
}

function tickCountdowns() {
  const n = now();
  for (const el of document.querySelectorAll('.countdown[data-deadline]')) {
    const left = Number(el.dataset.deadline) - n;
    el.textContent = `${t('deadline')} ${countdown(left)}`;
    el.classList.toggle('late', left < 0);
  }
  for (const el of document.querySelectorAll('.ttv[data-los-at]')) {
    const left = Number(el.dataset.losAt) - n;
    el.textContent = left > 0 ? `${t('ttv')} ${countdown(left)}` : t('ttv.now');
  }
  $('clock-utc').textContent = utcTime(n);
  $('clock-local').textContent = `${t('local')} ${localTime(n)}`;
}

function setStream(s) {
  const el = $('stream-state');
  el.dataset.state = s;
  el.textContent = t(`stream.${s}`);
  document.body.classList.toggle('stale', s === 'reconnecting');
}

// ---- events -------------------------------------------------------------------------------

function describeEvent(kind, data) {
  const label = state.strings[`event.${kind}`] ?? kind;
  const parts = [];
  for (const k of ['party', 'track_id', 'callsign', 'name', 'id', 'kind', 'status', 'reason', 'message']) {
    if (data && typeof data[k] !== 'object' && data[k] !== undefined) parts.push(String(data[k]));
  }
  return `${label}: ${parts.join(' · ')}`;
}

function pushEvent(seq, kind, data) {
  state.events.unshift({ seq, kind, data });
  state.events.length = Math.min(state.events.length, 30);
}

function renderEvents() {
  const ol = $('events');
  ol.replaceChildren();
  for (const e of state.events) {
    const li = document.createElement('li');
    li.className = `event kind-${e.kind}`;
    li.dataset.kind = e.kind;
    li.textContent = describeEvent(e.kind, e.data);
    li.title = JSON.stringify(e.data);
    ol.append(li);
  }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderAlerts();
    renderLine();
    renderEvents();
    drawTracks();
    drawNotifications();
    renderAgreement();
  });
}

function onEvent(seq, kind, data) {
  if (kind === 'alert') {
    onAlert(data);
  } else if (kind.startsWith('line_')) {
    onLineView(data?.view);
    if (data?.view?.message?.id === state.selected) showConversation();
  } else if (kind === 'notification') {
    refreshNotifications();
  } else if (kind === 'agreement') {
    refreshAgreement();
  }
  if (kind !== 'alert' && !kind.startsWith('line_')) pushEvent(seq, kind, data);
  scheduleRender();
}

// Events are handled once each, in sequence order. The stream delivers the kinds listened to
// below; a kind the page does not know arrives only as a gap in the sequence numbers, which is
// then read from /events (the same events as JSON) and shown generically. A periodic read
// catches a gap at the end.
let chain = Promise.resolve();
function serially(f) {
  chain = chain.then(f, f);
  return chain;
}

async function catchUp(upTo) {
  while (upTo === undefined || state.lastSeq < upTo - 1) {
    const limit = upTo === undefined ? 1000 : Math.min(1000, upTo - 1 - state.lastSeq);
    const page = await call('GET', `${API}/events?after=${state.lastSeq}&limit=${limit}`);
    for (const e of page) {
      if (e.seq > state.lastSeq) {
        state.lastSeq = e.seq;
        onEvent(e.seq, e.kind, e.data);
      }
    }
    if (page.length < limit) break;
  }
}

function openStream() {
  setStream('connecting');
  const es = new EventSource(`${API}/stream?after=${state.lastSeq}`);
  es.onopen = () => setStream('live');
  es.onerror = () => {
    setStream('reconnecting');
    // A closed stream (e.g. the service restarted) is reopened by hand; EventSource retries
    // the rest itself, resuming with Last-Event-ID.
    if (es.readyState === EventSource.CLOSED) {
      setTimeout(async () => {
        try { await call('GET', '/console/session'); openStream(); } catch { /* signed out */ }
      }, 2000);
    }
  };
  const handler = (ev) => serially(async () => {
    const seq = Number(ev.lastEventId);
    if (!(seq > state.lastSeq)) return;
    if (seq > state.lastSeq + 1) {
      try { await catchUp(seq); } catch { /* shown by the stream state */ }
    }
    let data = null;
    try { data = JSON.parse(ev.data); } catch { data = { text: ev.data }; }
    state.lastSeq = seq;
    onEvent(seq, ev.type, data);
  });
  es.onmessage = handler;
  for (const k of ['alert', 'notification', 'agreement', 'geography', 'nonconformance',
    'line_message', 'line_acknowledged', 'line_overdue', 'line_escalated', 'line_unanswered']) {
    es.addEventListener(k, handler);
  }
}

// ---- refreshes ----------------------------------------------------------------------------

async function refreshTracks() {
  try { state.tracks = await call('GET', `${API}/tracks`); scheduleRender(); } catch { /* shown by stream state */ }
}
async function refreshNotifications() {
  try { state.notifications = await call('GET', `${API}/notifications`); scheduleRender(); } catch { /* idem */ }
}
async function refreshAgreement() {
  try {
    state.agreement = await call('GET', `${API}/agreement`);
    state.linkTests = await call('GET', `${API}/line/reachability`);
    scheduleRender();
  } catch { /* idem */ }
}
async function refreshLine() {
  try {
    const p = await call('GET', `${API}/line/pending`);
    for (const v of [...p.to_acknowledge, ...p.awaiting_others, ...p.overdue]) onLineView(v);
    scheduleRender();
  } catch { /* idem */ }
}

// ---- keyboard -----------------------------------------------------------------------------

function onKey(e) {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === 'a') acknowledge(state.selected);
  else if (e.key === 'j' || e.key === 'ArrowDown') moveSelection(1);
  else if (e.key === 'k' || e.key === 'ArrowUp') moveSelection(-1);
  else if (e.key === 'o') { state.showOriginal = !state.showOriginal; showConversation(); }
  else return;
  e.preventDefault();
}

// ---- start --------------------------------------------------------------------------------

async function start() {
  let session;
  try {
    const r = await fetch('/console/session', { credentials: 'same-origin', cache: 'no-store' });
    if (!r.ok) throw new Error(String(r.status));
    session = await r.json();
  } catch {
    const strings = await (await fetch('/console/assets/i18n.json')).json();
    const lang = (navigator.language ?? 'en').slice(0, 2);
    state.strings = strings[lang] ?? strings.en;
    state.lang = strings[lang] ? lang : 'en';
    translatePage();
    signedOut();
    return;
  }
  state.session = session;
  state.serverSkewMs = session.now_unix_ms - Date.now();
  const strings = await (await fetch('/console/assets/i18n.json')).json();
  state.lang = strings[session.lang] ? session.lang : 'en';
  state.strings = strings[state.lang];
  translatePage();
  $('app').hidden = false;
  $('party').textContent = session.party_name;
  $('officer').textContent = session.officer;
  for (const p of session.parties.filter((x) => x.id !== session.party)) {
    const o = document.createElement('option');
    o.value = p.id;
    o.textContent = p.name;
    $('f-to').append(o);
  }
  renderKeyState();
  $('key-file').addEventListener('change', async (e) => {
    const f = e.target.files?.[0];
    if (!f) return;
    try { state.key = await loadKey(f); renderKeyState(); } catch (err) { state.key = null; renderKeyState(err.message); }
    e.target.value = '';
  });
  $('logout').addEventListener('click', async () => {
    try { await call('POST', '/console/logout', {}); } finally { signedOut(); }
  });
  $('f-type').addEventListener('change', () => {
    const strike = $('f-type').value === 'strike_warning';
    $('f-strike').hidden = !strike;
    $('f-reply').hidden = strike;
  });
  $('send-form').addEventListener('submit', send);
  $('toggle-original').addEventListener('click', () => { state.showOriginal = !state.showOriginal; showConversation(); });
  document.addEventListener('keydown', onKey);
  await initMap();
  drawGeography(await call('GET', '/console/geography'));
  await Promise.all([refreshTracks(), refreshNotifications(), refreshAgreement(), refreshLine()]);
  try {
    for (const a of await call('GET', `${API}/alerts?limit=100`)) onAlert(a);
  } catch { /* the stream brings them too */ }
  openStream();
  scheduleRender();
  setInterval(tickCountdowns, 1000);
  setInterval(refreshTracks, 1000);
  setInterval(refreshAgreement, 10000);
  setInterval(() => serially(() => catchUp().catch(() => {})), 5000);
}

start();
