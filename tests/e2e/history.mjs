// Browser test of the dashboard's Runs and Schedules pages (issue 14), in Debian's
// chromium driven by playwright-core. tests/integration/test_browser_history.py starts the
// processes (target, stampede-master with a --results-dir, one stampede-worker), records
// two short runs of one scenario with `stampede run --master URL --label ...`, and runs
// this file; it can also be run by hand against a master that has two or more runs.
//
// Environment:
//   STAMPEDE_UI         the dashboard's base URL (a stampede-master's --http), required
//   STAMPEDE_TARGET     the target's base URL (for the scheduled scenario), required
//   STAMPEDE_SCENARIO   the scenario the recorded runs are of, required
//   STAMPEDE_ARTIFACTS  folder for the screenshots (default: a new temporary folder)
//   STAMPEDE_CHROMIUM   the browser (default /usr/bin/chromium)
//
// What it checks, in one page:
// - Runs (#runs): the table lists the runs of GET /api/history, newest first (same ids
//   in the same order, starts descending), with their requests; a label filter of bad
//   form shows its message in the page; the label filter K=V keeps only that run.
// - Baseline: the oldest run's "Make baseline" button; its row then carries the baseline
//   marker and GET /api/trends?scenario=S names it as the baseline.
// - Trends: the p95, rps and error-rate charts have one point per run, the baseline
//   marked (data-baseline), and the series drawn (pixels of a saturated colour on the
//   canvas); again with a request name picked in the select.
// - Two runs side by side: ticking both rows shows the comparison table with the
//   Aggregated and per-name lines; its Aggregated requests cells equal the two runs'
//   requests, and the lines equal window.stampede.compareRuns of the two GET
//   /api/history/ID answers (the rule of cli/compare.c).
// - Schedules (#schedules): a bad cron shows the master's 400 message in the page; the
//   form adds "0 3 * * *" in Europe/Berlin, which then appears in GET /api/schedules and
//   in the list with its next start in local time (the browser runs in Asia/Tokyo) and
//   UTC; "Remove" deletes it from both.
// - The Live page still shows (its state badge and New-run form), and no page error nor
//   console error happened (other than the one 400 the bad cron asks for).
//
// Prints one JSON line ({"ok": bool, "failures": [...], ...}) and exits 0 when every
// check held, 1 otherwise. Every wait is bounded; the whole test gives up after 50 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const TOTAL_MS = 50000;
const UI = (process.env.STAMPEDE_UI || '').replace(/\/+$/, '');
const TARGET = (process.env.STAMPEDE_TARGET || '').replace(/\/+$/, '');
const SCENARIO = process.env.STAMPEDE_SCENARIO || '';
const ARTIFACTS = process.env.STAMPEDE_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'stampede-e2e-hist-'));
const CHROMIUM = process.env.STAMPEDE_CHROMIUM || '/usr/bin/chromium';
const TRENDS = ['trend-p95', 'trend-rps', 'trend-error_rate'];
const MIN_COLORED = 30;          // pixels of a series' colour that make a drawn line
const CRON = '0 3 * * *';
const TZ = 'Europe/Berlin';
const BROWSER_TZ = 'Asia/Tokyo';          // UTC+9 all year

const t0 = Date.now();
const result = {
  ok: false, failures: [], ui: UI, artifacts: ARTIFACTS, screenshots: [], console_errors: [], page_errors: [],
  runs: {}, baseline: {}, trends: {}, compare: {}, schedules: {}, elapsed_s: 0,
};
let browser = null;
let current = null;
let finished = false;
let step = 'start';
let expect400 = false;           // the bad-cron step: the browser logs its 400 as an error

function fail(msg) { result.failures.push(msg); }

function finish(code) {
  if (finished) return;
  finished = true;
  result.ok = code === 0 && result.failures.length === 0;
  result.elapsed_s = Math.round((Date.now() - t0) / 100) / 10;
  process.stdout.write(JSON.stringify(result) + '\n');
  const exit = () => process.exit(result.ok ? 0 : 1);
  if (browser) browser.close().then(exit, exit); else exit();
  setTimeout(exit, 5000).unref();
}

setTimeout(() => { fail(`gave up after ${TOTAL_MS / 1000} s (last step: ${step})`); finish(1); }, TOTAL_MS).unref();

async function waitFor(what, timeoutMs, fn, intervalMs = 200) {
  step = what;
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last && last.done !== false) return last;
    } catch (e) {
      last = { error: String(e && e.message || e) };
    }
    if (Date.now() >= end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function getJson(p) {
  const r = await fetch(UI + p, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`GET ${p}: ${r.status}`);
  return r.json();
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true, timeout: 10000 });
  result.screenshots.push(file);
}

// Saturated, opaque pixels on the canvases under each selector (the series' strokes and
// points; axes and grid are greys). Runs in the page.
async function canvasInk(page, ids) {
  return page.evaluate((list) => {
    const out = {};
    for (const id of list) {
      const info = { canvases: 0, colored: 0 };
      for (const c of document.querySelectorAll(`#${id} canvas`)) {
        info.canvases++;
        if (!c.width || !c.height) continue;
        const off = document.createElement('canvas');
        off.width = c.width;
        off.height = c.height;
        const ctx = off.getContext('2d');
        ctx.drawImage(c, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4) {
          const r = px[i], g = px[i + 1], b = px[i + 2], a = px[i + 3];
          if (a >= 128 && Math.max(r, g, b) - Math.min(r, g, b) >= 60) info.colored++;
        }
      }
      out[id] = info;
    }
    return out;
  }, ids);
}

// The runs table as shown: [{id, start, requests, baseline, button}].
async function runRows(page) {
  return page.$$eval('#runs tbody tr[data-id]', (trs) => trs.map((tr) => ({
    id: Number(tr.getAttribute('data-id')),
    start: tr.cells[2].textContent.trim(),
    requests: tr.cells[6].textContent.trim().replace(/[,\s]/g, ''),
    baseline: !!tr.querySelector('[data-baseline]'),
    button: !!tr.querySelector('button[data-action="baseline"]'),
  })));
}

async function trendState(page) {
  return page.evaluate((ids) => Object.fromEntries(ids.map((id) => {
    const b = document.getElementById(id);
    return [id, { points: Number(b.dataset.points || 0), baseline: b.dataset.baseline || '' }];
  })), TRENDS);
}

async function runsPage(page) {
  step = 'open the Runs page';
  const resp = await page.goto(UI + '/#runs', { waitUntil: 'load', timeout: 15000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${UI}/: ${resp && resp.status()}`);
  const api = (await getJson(`/api/history?scenario=${encodeURIComponent(SCENARIO)}`)).runs;
  if (api.length < 2) throw new Error(`the master has ${api.length} runs of ${SCENARIO}, the test needs 2`);
  const rows = await waitFor('the runs table', 10000, async () => {
    const r = await runRows(page);
    return r.length >= api.length ? r : { done: false, rows: r };
  });
  result.runs = { api: api.map((r) => r.id), rows };
  const shown = rows.map((r) => r.id);
  if (JSON.stringify(shown.slice(0, api.length)) !== JSON.stringify(api.map((r) => r.id))) {
    fail(`runs table ${JSON.stringify(shown)}, GET /api/history ${JSON.stringify(api.map((r) => r.id))}`);
  }
  for (let i = 1; i < rows.length; i++) if (rows[i - 1].start < rows[i].start) fail(`runs not newest first: ${JSON.stringify(rows)}`);
  for (const r of api) {
    const row = rows.find((x) => x.id === r.id);
    if (row && Number(row.requests) !== r.requests) fail(`run ${r.id}: Requests cell ${row.requests}, API ${r.requests}`);
  }
  const visible = await page.evaluate(() => ['live', 'runs', 'schedules'].map((p) => !document.getElementById(`page-${p}`).hidden));
  if (JSON.stringify(visible) !== '[false,true,false]') fail(`#runs shows pages live/runs/schedules: ${visible}`);

  // A label filter of bad form: its message in the page, no request.
  step = 'bad label filter';
  await page.fill('#runs-label', 'nolabel');
  await page.click('#runs-apply');
  const bad = await waitFor('the label filter message', 5000, async () => {
    const t = await page.textContent('#runs-error');
    return (await page.isVisible('#runs-error')) && /KEY=VALUE/.test(t) ? t : false;
  });
  result.runs.bad_label = bad.trim();
  // The newest run's label keeps only it.
  const newest = api[0];
  const [lk, lv] = Object.entries(newest.labels || {})[0] || [];
  if (lk) {
    await page.fill('#runs-label', `${lk}=${lv}`);
    await page.click('#runs-apply');
    const one = await waitFor('the label filter', 5000, async () => {
      const r = await runRows(page);
      return r.length === 1 && r[0].id === newest.id && !(await page.isVisible('#runs-error')) ? r : { done: false, r };
    });
    result.runs.label_filter = { label: `${lk}=${lv}`, ids: one.map((r) => r.id) };
    await page.fill('#runs-label', '');
    await page.click('#runs-apply');
    await waitFor('the unfiltered table', 5000, async () => (await runRows(page)).length >= api.length);
  }

  // The scenario select is filled from the runs.
  const opts = await page.$$eval('#runs-scenario option', (os_) => os_.map((o) => o.value));
  if (!opts.includes(SCENARIO)) fail(`scenario select ${JSON.stringify(opts)} lacks ${SCENARIO}`);
  await page.selectOption('#runs-scenario', SCENARIO);

  // Baseline: the oldest run's button (the newest's when the oldest already is it: a
  // second pass by hand against the same master).
  const oldest = api[api.length - 1].baseline ? api[0] : api[api.length - 1];
  step = `make run ${oldest.id} the baseline`;
  await page.click(`#runs button[data-action="baseline"][data-id="${oldest.id}"]`);
  await waitFor('the baseline marker', 8000, async () => {
    const r = await runRows(page);
    const row = r.find((x) => x.id === oldest.id);
    return row && row.baseline && !row.button && r.filter((x) => x.baseline).length === 1 ? r : { done: false, r };
  });
  const tr = await getJson(`/api/trends?scenario=${encodeURIComponent(SCENARIO)}`);
  result.baseline = { id: oldest.id, trends_baseline: tr.baseline };
  if (tr.baseline !== oldest.id) fail(`GET /api/trends baseline ${tr.baseline}, the button was run ${oldest.id}`);

  // Trends: one point per run, the baseline marked, the lines drawn.
  const st = await waitFor('the trend charts', 8000, async () => {
    const s = await trendState(page);
    const ok = TRENDS.every((id) => s[id].points === api.length && s[id].baseline === String(oldest.id));
    if (!ok) return { done: false, s };
    const ink = await canvasInk(page, TRENDS);
    return TRENDS.every((id) => ink[id].colored >= MIN_COLORED) ? { s, ink } : { done: false, s, ink };
  });
  result.trends.aggregated = st;
  const names = await page.$$eval('#trend-name option', (os_) => os_.map((o) => o.value));
  result.trends.names = names;
  const name = names.find((n) => n !== 'Aggregated');
  if (!name) fail(`the trend name select has no request name: ${JSON.stringify(names)}`);
  else {
    await page.selectOption('#trend-name', name);
    const want = (await getJson(`/api/trends?scenario=${encodeURIComponent(SCENARIO)}&name=${encodeURIComponent(name)}&metric=p95`)).points.length;
    result.trends.by_name = await waitFor(`the trend of ${name}`, 8000, async () => {
      const ink = await canvasInk(page, ['trend-p95']);
      const s = await trendState(page);
      return s['trend-p95'].points === want && ink['trend-p95'].colored >= MIN_COLORED ? { name, s, ink } : { done: false, s, ink };
    });
  }

  // Two runs side by side.
  step = 'compare two runs';
  const [a, b] = [api[api.length - 1], newest];
  await page.check(`#runs input.pick[data-id="${a.id}"]`);
  await page.check(`#runs input.pick[data-id="${b.id}"]`);
  const cmp = await waitFor('the comparison table', 8000, async () => {
    if (!(await page.isVisible('#compare-card'))) return false;
    const ids = await page.getAttribute('#compare-card', 'data-ids');
    if (ids !== `${a.id},${b.id}`) return { done: false, ids };
    return page.$$eval('#compare tbody tr', (trs) => trs.map((t) => ({
      name: t.getAttribute('data-name'), metric: t.getAttribute('data-metric'), verdict: t.getAttribute('data-verdict'),
      cells: [...t.cells].map((c) => c.textContent.trim()),
    })));
  });
  const [fa, fb] = [await getJson(`/api/history/${a.id}`), await getJson(`/api/history/${b.id}`)];
  const expected = await page.evaluate(([x, y]) => window.stampede.compareRuns(x, y)
    .map((l) => ({ name: l.name, metric: l.metric, verdict: l.verdict })), [fa, fb]);
  result.compare = { lines: cmp.length, names: [...new Set(cmp.map((l) => l.name))], regressions: cmp.filter((l) => l.verdict === 'REGRESSION').length };
  const aggReq = cmp.find((l) => l.name === 'Aggregated' && l.metric === 'requests');
  if (!aggReq) fail('comparison: no Aggregated requests line');
  else if (aggReq.cells[2].replace(/[,\s]/g, '') !== String(fa.requests) || aggReq.cells[3].replace(/[,\s]/g, '') !== String(fb.requests)) {
    fail(`comparison Aggregated requests ${aggReq.cells.join(' | ')}, runs ${fa.requests} and ${fb.requests}`);
  }
  for (const n of (fa.requests_by_name || [])) {
    if (!cmp.some((l) => l.name === `${n.method} ${n.name}` && l.metric === 'p95')) fail(`comparison: no p95 line for ${n.method} ${n.name}`);
  }
  const got = JSON.stringify(cmp.map((l) => ({ name: l.name, metric: l.metric, verdict: l.verdict })));
  if (got !== JSON.stringify(expected)) fail(`comparison table ${got}, compareRuns ${JSON.stringify(expected)}`);
  await shot(page, 'runs.png');
}

async function schedulesPage(page) {
  step = 'open the Schedules page';
  await page.click('#nav a[data-page="schedules"]');
  await waitFor('the schedules page', 5000, async () => (await page.isVisible('#sched-form')) && !(await page.isVisible('#page-runs')));
  await waitFor('the empty list', 5000, async () => (await page.$$('#schedules tbody tr.empty')).length === 1);
  const yaml = `name: e2e-scheduled
target: ${TARGET}
load:
  stages: [ { duration: 5s, users: 2 } ]
users:
  - name: u
    flow:
      - http: { name: ping, url: /ping }
      - think: 100ms
`;
  await page.fill('#sched-yaml', yaml);
  await page.fill('#sched-tz', TZ);
  await page.fill('#sched-users', '3');
  await page.fill('#sched-rate', '3');
  await page.fill('#sched-duration', '4s');
  await page.fill('#sched-labels', 'env=e2e');

  // A bad cron: the master's 400 message in the page.
  step = 'a bad cron';
  expect400 = true;
  await page.fill('#sched-cron', '61 * * * *');
  await page.click('#sched-add');
  const msg = await waitFor('the 400 message', 5000, async () => {
    const t = (await page.textContent('#sched-add-error')).trim();
    return (await page.isVisible('#sched-add-error')) && t ? t : false;
  });
  expect400 = false;
  result.schedules.bad_cron = msg;
  if ((await getJson('/api/schedules')).schedules.length !== 0) fail('a bad cron was stored');

  step = 'add a schedule';
  await page.fill('#sched-cron', CRON);
  await page.click('#sched-add');
  const row = await waitFor('the schedule in the list', 8000, async () => {
    const rows = await page.$$eval('#schedules tbody tr[data-id]', (trs) => trs.map((t) => ({
      id: Number(t.getAttribute('data-id')), cron: t.getAttribute('data-cron'), tz: t.getAttribute('data-tz'),
      cells: [...t.cells].map((c) => c.textContent.trim()),
    })));
    return rows.length === 1 ? rows[0] : { done: false, rows };
  });
  if (await page.isVisible('#sched-add-error')) fail(`add: error shown: ${await page.textContent('#sched-add-error')}`);
  const api = (await getJson('/api/schedules')).schedules;
  result.schedules.api = api.map((s) => ({ id: s.id, cron: s.cron, tz: s.tz, scenario: s.scenario, next: s.next }));
  result.schedules.row = row;
  const s = api.find((x) => x.id === row.id);
  if (!s) fail(`schedule ${row.id} of the list is not in GET /api/schedules: ${JSON.stringify(api)}`);
  else {
    if (s.cron !== CRON || s.tz !== TZ || s.scenario !== 'e2e-scheduled') fail(`GET /api/schedules: ${JSON.stringify(s)}`);
    if (row.cron !== CRON || row.tz !== TZ) fail(`list row: ${JSON.stringify(row)}`);
    // The next start in UTC as the page shows it; 03:00 Berlin is 01:00 or 02:00 UTC.
    const d = new Date(s.next), pad = (n) => String(n).padStart(2, '0');
    const utc = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
    const l = new Date(s.next + 9 * 3600e3);
    const local = `${l.getUTCFullYear()}-${pad(l.getUTCMonth() + 1)}-${pad(l.getUTCDate())} ${pad(l.getUTCHours())}:${pad(l.getUTCMinutes())}:${pad(l.getUTCSeconds())} ${BROWSER_TZ}`;
    if (!row.cells[4].includes(utc) || !row.cells[4].includes(local)) fail(`next start cell "${row.cells[4]}" lacks ${local} and ${utc}`);
    if (![1, 2].includes(d.getUTCHours()) || d.getUTCMinutes() !== 0) fail(`next start ${utc} is not 03:00 in ${TZ}`);
    if (!(s.next > Date.now())) fail(`next start ${s.next} is not ahead`);
  }
  await shot(page, 'schedules.png');

  step = 'remove the schedule';
  await page.click(`#schedules button[data-action="remove"][data-id="${row.id}"]`);
  await waitFor('the list without it', 8000, async () => (await page.$$('#schedules tbody tr[data-id]')).length === 0);
  const after = (await getJson('/api/schedules')).schedules;
  result.schedules.after_remove = after.length;
  if (after.length !== 0) fail(`GET /api/schedules after Remove: ${JSON.stringify(after)}`);
}

async function livePage(page) {
  step = 'back to the Live page';
  await page.click('#nav a[data-page="live"]');
  await waitFor('the live page', 5000, async () => (await page.isVisible('#page-live')) && (await page.isVisible('#start-card'))
    && !(await page.isVisible('#page-schedules')));
  const state = (await page.textContent('#state')).trim();
  if (!['idle', 'finished', 'aborted'].includes(state)) fail(`live state badge "${state}"`);
}

async function main() {
  if (!UI || !TARGET || !SCENARIO) {
    fail('STAMPEDE_UI, STAMPEDE_TARGET and STAMPEDE_SCENARIO must be set');
    return finish(1);
  }
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  step = 'launch chromium';
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30000,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--disable-background-networking', '--no-first-run'],
  });
  // A zone of its own (no daylight saving), so local time and UTC differ on the page.
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1, timezoneId: BROWSER_TZ });
  const page = await ctx.newPage();
  page.setDefaultTimeout(8000);
  current = page;
  page.on('pageerror', (e) => result.page_errors.push(String(e && e.message || e)));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const t = m.text();
    if (expect400 && /status of 400/.test(t)) return;          /* the bad cron's answer */
    result.console_errors.push(`${step}: ${t}`);
  });
  try {
    await runsPage(page);
    await schedulesPage(page);
    await livePage(page);
  } catch (e) {
    fail(String(e && e.message || e));
    if (current && !current.isClosed()) await shot(current, 'failure.png').catch(() => {});
  }
  if (result.page_errors.length) fail(`page errors: ${result.page_errors.join(' | ')}`);
  if (result.console_errors.length) fail(`console errors: ${result.console_errors.join(' | ')}`);
  finish(0);
}

main().catch((e) => { fail(`unexpected: ${e && e.stack || e}`); finish(1); });
