// Two duty officers of different parties in two real headless Chromium pages, against a
// running `deconflict serve` (started, fed with tracks and signed in by
// crates/service/tests/console_browser.rs, which passes everything in CONSOLE_TEST as JSON).
//
// Checks: both pages show the alert at the level the API reports; the Russian officer's page is
// in Russian; a strike warning sent from one page is acknowledged from the other (keyboard) and
// the sender's page shows the acknowledgement within 2 s; neither page ever receives the other
// party's undisclosed fields (every JSON response and every stream message is inspected);
// a reused sign-in link and a page without a session get no data. Screenshots of each page are
// written to the artefacts directory.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const cfg = JSON.parse(process.env.CONSOLE_TEST ?? '{}');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ACK_VISIBLE_MS_MAX = 2000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function officer(name, url, locale, timezoneId) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `console-${name}-`));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: cfg.chromium,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
    locale,
    timezoneId,
  });
  const page = ctx.pages()[0] ?? await ctx.newPage();
  const traffic = [];
  page.on('response', async (r) => {
    const ct = r.headers()['content-type'] ?? '';
    if (!ct.includes('json') || r.url().includes('/console/assets/')) return;
    try { traffic.push({ url: r.url(), text: await r.text() }); } catch { /* navigated away */ }
  });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.eventSourceMessageReceived', (e) => traffic.push({ url: `sse:${e.eventName}`, text: e.data }));
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} ${m.location()?.url ?? ''}`); });
  if (url) await page.goto(url);
  return { name, ctx, page, traffic, errors, dir };
}

async function apiAlerts(page) {
  return page.evaluate(async () => (await fetch('/console/v1/alerts?limit=1000')).json());
}

// The latest alert of each conflict the API reports, still active.
function activeFromApi(alerts) {
  const latest = new Map();
  for (const a of alerts) {
    const p = latest.get(a.conflict_id);
    if (!p || p.created_unix_ms <= a.created_unix_ms) latest.set(a.conflict_id, a);
  }
  return [...latest.values()].filter((a) => a.kind !== 'ended' && a.level !== 'none');
}

// Both the page and the API, read back to back until they agree (a level may change between
// two reads); the last disagreement is reported.
async function alertMatchesApi(o) {
  let last = '';
  for (let i = 0; i < 20; i++) {
    const api = activeFromApi(await apiAlerts(o.page));
    const shown = await o.page.$$eval('li.alert', (els) => els.map((e) => ({
      conflict: e.dataset.conflictId, level: e.dataset.level, text: e.querySelector('.level').textContent,
    })));
    const tactical = api.filter((a) => a.own && a.other);
    if (tactical.length > 0) {
      const agree = tactical.every((a) => shown.some((s) => s.conflict === a.conflict_id && s.level === a.level));
      if (agree) return { api: tactical, shown };
    }
    last = JSON.stringify({ api: tactical.map((a) => [a.conflict_id, a.level]), shown });
    await o.page.waitForTimeout(500);
  }
  throw new Error(`${o.name}: the page's alerts never matched the API's: ${last}`);
}

function* objects(v) {
  if (Array.isArray(v)) for (const x of v) yield* objects(x);
  else if (v && typeof v === 'object') {
    yield v;
    for (const x of Object.values(v)) yield* objects(x);
  }
}

// Every track object of another party that reached the page has only the fields the API
// discloses to this party, and no undisclosed value of the other party appears anywhere.
function checkDisclosure(o, party) {
  const allowed = new Set(cfg.allowed_keys[party]);
  let tracksSeen = 0;
  for (const t of o.traffic) {
    for (const secret of cfg.secrets[party]) {
      // As a token of its own: a squawk's four digits also occur inside millisecond times.
      const escaped = secret.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (new RegExp(`(?<![0-9A-Za-z])${escaped}(?![0-9A-Za-z])`).test(t.text)) {
        throw new Error(`${o.name}: undisclosed value ${secret} in ${t.url}`);
      }
    }
    let doc;
    try { doc = JSON.parse(t.text); } catch { continue; }
    for (const x of objects(doc)) {
      // Geography events (a crossing or a zone entry) go to every party with the place and time,
      // by the agreement's design; they are not track documents (the value check above covers them).
      if (typeof x.event_id === 'string') continue;
      if (typeof x.track_id === 'string' && typeof x.party === 'string' && x.party !== party) {
        // The other aircraft's part of a coordinated advice: its senses always (the advice is
        // coordinated), the altitude to reach only where its party discloses altitude, the
        // direction only where it discloses velocity, never its bands.
        if (typeof x.vertical === 'string' && typeof x.turn === 'string') {
          const ok = new Set(['party', 'track_id', 'vertical', 'turn']);
          if (allowed.has('alt_m')) ok.add('altitude_m');
          if (allowed.has('track_deg')) ok.add('direction_deg');
          const extra = Object.keys(x).filter((k) => !ok.has(k));
          if (extra.length) throw new Error(`${o.name}: ${t.url} carried undisclosed advice ${extra} of ${x.party}`);
          continue;
        }
        tracksSeen += 1;
        const extra = Object.keys(x).filter((k) => !allowed.has(k));
        if (extra.length) throw new Error(`${o.name}: ${t.url} carried undisclosed ${extra} of ${x.party}`);
      }
    }
  }
  check(tracksSeen > 0, `${o.name}: ${o.traffic.length} responses and stream messages without ${cfg.secrets[party]}; ${tracksSeen} track documents of the other party, each with disclosed fields only`);
}

async function main() {
  const artefacts = cfg.artefacts;
  fs.mkdirSync(artefacts, { recursive: true });
  const coalition = await officer('coalition', cfg.urls.coalition, 'en-GB', 'UTC');
  const russia = await officer('russia', cfg.urls.russia, 'ru-RU', 'Europe/Moscow');
  const all = [coalition, russia];
  try {
    for (const o of all) {
      await o.page.waitForSelector('#app:not([hidden])', { timeout: 15000 });
      check(new URL(o.page.url()).pathname === '/', `${o.name}: the link led to the console`);
      const cookies = await o.ctx.cookies();
      const c = cookies.find((x) => x.name === 'deconflict_session');
      check(c && c.httpOnly && c.sameSite === 'Strict', `${o.name}: the session cookie is HttpOnly, SameSite=Strict`);
      check(await o.page.evaluate(() => !document.cookie.includes('deconflict_session')), `${o.name}: the page's script cannot read the cookie`);
    }

    // Languages.
    check(await russia.page.evaluate(() => document.documentElement.lang) === 'ru', 'russia: the page is in Russian');
    const ruTitle = await russia.page.textContent('#alerts-panel h2');
    check(ruTitle === 'Предупреждения', `russia: headings in Russian (${ruTitle})`);
    check(await coalition.page.textContent('#alerts-panel h2') === 'Alerts', 'coalition: headings in English');
    check((await russia.page.textContent('#clock-local')).includes('+03:00'), 'russia: local time +03:00 beside UTC');
    check(/^\d\d:\d\d:\d\dZ$/.test(await coalition.page.textContent('#clock-utc')), 'coalition: the clock shows UTC');
    check(await coalition.page.getAttribute('#agreement-status', 'data-status') === 'in_force', 'the agreement is shown in force');
    await coalition.page.waitForSelector('#stream-state[data-state="live"]', { timeout: 10000 });
    check(true, 'coalition: the stream is live');

    // The alert, at the level the API reports, on both pages.
    for (const o of all) {
      await o.page.waitForSelector('li.alert', { timeout: 30000 });
      const { api, shown } = await alertMatchesApi(o);
      check(true, `${o.name}: alert shown at the API's level (${api.map((a) => a.level).join(',')}; page ${shown.map((s) => s.text).join(',')})`);
      await o.page.waitForSelector('path.track.in-conflict', { timeout: 5000 });
      check(true, `${o.name}: the pair is highlighted on the map`);
    }
    const ruLevel = await russia.page.textContent('li.alert .level');
    check(/[А-Яа-яЁё]/.test(ruLevel), `russia: the level is named in Russian (${ruLevel})`);

    // The parties' keys, read by the pages from files (never sent).
    await coalition.page.setInputFiles('#key-file', cfg.keys.coalition);
    await russia.page.setInputFiles('#key-file', cfg.keys.russia);
    for (const o of all) await o.page.waitForSelector('#key-state[data-state="loaded"]', { timeout: 5000 });

    // A strike warning from the coalition's structured form.
    await coalition.page.selectOption('#f-type', 'strike_warning');
    await coalition.page.click('#f-send');
    await coalition.page.waitForSelector('#send-result[data-message-id]', { timeout: 10000 });
    const id = await coalition.page.getAttribute('#send-result', 'data-message-id');
    check(Boolean(id), `coalition: strike warning ${id} sent`);

    // Russia acknowledges it from the keyboard.
    const item = `li.line-item[data-message-id="${id}"]`;
    await russia.page.waitForSelector(item, { timeout: 5000 });
    check(await russia.page.getAttribute(item, 'data-acknowledged') === 'false', 'russia: the warning awaits acknowledgement');
    check((await russia.page.textContent(`${item} b`)) === 'Предупреждение об ударе', 'russia: the message kind in Russian');
    await russia.page.click(`${item} .who`);
    await russia.page.waitForSelector('#conversation[data-lang="ru"]', { timeout: 5000 });
    check(/[А-Яа-яЁё]/.test(await russia.page.textContent('#conversation')), 'russia: the conversation rendered in Russian');
    await russia.page.keyboard.press('o');
    await russia.page.waitForSelector('#conversation[data-lang="en"]', { timeout: 5000 });
    check(true, 'russia: the original (English) one key away');
    await russia.page.keyboard.press('o');
    await russia.page.keyboard.press('a');
    await russia.page.waitForSelector(`${item}[data-acknowledged="true"]`, { timeout: 5000 });
    const ackedAt = Date.now();
    await coalition.page.waitForSelector(`${item}[data-acknowledged="true"]`, { timeout: ACK_VISIBLE_MS_MAX });
    const took = Date.now() - ackedAt;
    check(took <= ACK_VISIBLE_MS_MAX, `coalition: the acknowledgement shown ${took} ms after it was made`);
    const status = await coalition.page.textContent(`${item} .status`);
    check(status.includes(cfg.officers.russia), `coalition: the acknowledging officer is named (${status})`);

    for (const o of all) {
      await o.page.screenshot({ path: path.join(artefacts, `${o.name}.png`) });
    }
    check(true, `screenshots in ${artefacts}`);

    // Disclosure, over everything each page received.
    checkDisclosure(coalition, 'coalition');
    checkDisclosure(russia, 'russia');
    for (const o of all) check(o.errors.length === 0, `${o.name}: no script errors (${o.errors.join('; ')})`);

    // A reused link and no session: no data.
    const stranger = await officer('stranger', null, 'en-GB', 'UTC');
    all.push(stranger);
    await stranger.page.goto(cfg.urls.coalition);
    await stranger.page.waitForSelector('body');
    check((await stranger.page.textContent('body')).includes('refused'), 'a reused link is refused');
    await stranger.page.goto(`${cfg.base}/`);
    await stranger.page.waitForSelector('#signed-out:not([hidden])', { timeout: 10000 });
    check(await stranger.page.isHidden('#app'), 'without a session the console stays closed');
    const leaked = stranger.traffic.filter((t) => t.text.includes('track_id') || t.text.includes('alert_id'));
    check(leaked.length === 0, 'without a session no track or alert reached the page');
    await stranger.page.screenshot({ path: path.join(artefacts, 'signed-out.png') });

    // Sign-out ends the session on the service.
    await russia.page.click('#logout');
    await russia.page.waitForSelector('#signed-out:not([hidden])', { timeout: 5000 });
    const after = await russia.page.evaluate(async () => (await fetch('/console/v1/tracks')).status);
    check(after === 401, 'after sign-out the session reads nothing');
  } finally {
    for (const o of all) {
      await o.ctx.close().catch(() => {});
      fs.rmSync(o.dir, { recursive: true, force: true });
    }
  }
}

main().then(() => { console.log('all browser checks passed'); }, (e) => {
  console.error(e.stack ?? String(e));
  process.exit(1);
});
