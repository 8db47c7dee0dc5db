// Browser test of the live dashboard and of report.html, in Debian's chromium driven by
// playwright-core. tests/integration/test_browser.py starts the processes (target,
// stampede-master, one stampede-worker) and runs this file; it can also be run by hand
// against processes started some other way.
//
// Environment:
//   STAMPEDE_UI         the dashboard's base URL (a stampede-master's --http), required
//   STAMPEDE_TARGET     the target's base URL (tests/target on 127.0.0.1), required
//   STAMPEDE_ARTIFACTS  folder for the screenshots (default: a new temporary folder)
//   STAMPEDE_WORKER_ID  the worker id the workers table must show (default: any row)
//   STAMPEDE_CHROMIUM   the browser (default /usr/bin/chromium)
//
// What it does: opens the dashboard, pastes a small scenario targeting STAMPEDE_TARGET,
// sets users and duration, clicks Start; waits until the names table has a row per step
// name, every chart has drawn its series (pixels of the series colours on its canvas,
// not just axes), the failures table has rows and the workers table shows the worker; screenshot dashboard-running.png;
// clicks Stop and waits for "finished"; checks the names table against the run's
// summary.json; screenshot dashboard-finished.png. Then opens file://OUT/report.html
// and checks its charts (drawn pixels) and its names table (one row per summary.json
// "requests" row and "ws" name, same Requests count); screenshot report.png.
//
// Issue 12's dashboard defects, in the same run: the New-run panel shows on a master
// (and the local-run note does not); the header's req/s is labelled "last 1 s" while the
// run goes and "run" once it ended, and then equals the Aggregated row's req/s (run) and
// requests / elapsed of /api/live; the Aggregated row has its latencies, equal to
// summary.json's totals. Then the form starts configs/erp-peak.yaml with its data file
// picked as plain "operators.csv": the page maps it to data/operators.csv (shown under
// the picker), the run starts and logs in (summary.json has "login" rows).
//
// STAMPEDE_MODE=local-open (tests/integration/test_browser.py's second test): the page of
// a local `stampede run --ui` running an open-model scenario: the New-run panel is hidden
// and the local note shown, the schedule card has figures, the planned-vs-achieved rate
// chart and the latency-beside-service chart draw; then STAMPEDE_OUT/report.html draws
// its charts and the open model's (rate, service; backlog present) without page errors.
//
// Prints one JSON line ({"ok": bool, "failures": [...], ...}) and exits 0 when every
// check held, 1 otherwise. Every wait is bounded; the whole test gives up after 90 s.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const TOTAL_MS = 88000;
const UI = (process.env.STAMPEDE_UI || '').replace(/\/+$/, '');
const TARGET = (process.env.STAMPEDE_TARGET || '').replace(/\/+$/, '');
const ARTIFACTS = process.env.STAMPEDE_ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'stampede-e2e-'));
const WORKER_ID = process.env.STAMPEDE_WORKER_ID || '';
const CHROMIUM = process.env.STAMPEDE_CHROMIUM || '/usr/bin/chromium';
const MODE = process.env.STAMPEDE_MODE || 'master';
const OUT = process.env.STAMPEDE_OUT || '';          /* local-open: the run's --out folder */
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const OPEN_CHARTS = ['chart-rate', 'chart-service'];
const STEP_NAMES = ['ping', 'static', 'orders-denied'];
const DASH_CHARTS = ['chart-users', 'chart-rps', 'chart-latency', 'chart-errors'];
const REPORT_CHARTS = ['users', 'rps', 'latency'];
const MIN_COLORED = 30;          // pixels of a series' colour that make a drawn line
const MIN_RUNNING_S = 6;         // run this long before the screenshot: a few chart points

const t0 = Date.now();
const result = {
  ok: false, failures: [], ui: UI, artifacts: ARTIFACTS, screenshots: [], console_errors: [],
  page_errors: [], dashboard: {}, report: {}, out_dir: null, run_id: null, elapsed_s: 0,
};
let browser = null;
let current = null;              // the page being checked, for a screenshot on failure
let finished = false;

function fail(msg) { result.failures.push(msg); }
function elapsed() { return (Date.now() - t0) / 1000; }

function finish(code) {
  if (finished) return;
  finished = true;
  result.ok = code === 0 && result.failures.length === 0;
  result.elapsed_s = Math.round(elapsed() * 10) / 10;
  process.stdout.write(JSON.stringify(result) + '\n');
  const exit = () => process.exit(result.ok ? 0 : 1);
  if (browser) browser.close().then(exit, exit); else exit();
  setTimeout(exit, 5000).unref();
}

// The last word on time: whatever hangs, the test ends with a verdict.
setTimeout(() => { fail(`gave up after ${TOTAL_MS / 1000} s (last step: ${step})`); finish(1); }, TOTAL_MS).unref();

let step = 'start';

// Polls fn (async, returns a truthy value when done) every intervalMs until timeoutMs;
// the last value (or the last error) goes into the failure message.
async function waitFor(what, timeoutMs, fn, intervalMs = 250) {
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

// Per canvas under each selector: its size, the pixels with any ink (neither transparent
// nor white) and the pixels in a saturated colour at high opacity (the series' strokes;
// axes, grid and labels are greys, area fills are faint). Runs in the page.
async function canvasInk(page, selectors) {
  return page.evaluate((sels) => {
    const out = {};
    for (const sel of sels) {
      const holder = document.querySelector(sel);
      if (!holder) { out[sel] = { missing: true, canvases: 0, ink: 0, colored: 0 }; continue; }
      const info = { canvases: 0, width: 0, height: 0, ink: 0, colored: 0 };
      for (const c of holder.querySelectorAll('canvas')) {
        info.canvases++;
        if (!c.width || !c.height) continue;
        info.width = Math.max(info.width, c.width);
        info.height = Math.max(info.height, c.height);
        // Drawn into an offscreen canvas, so the page's own context is left alone.
        const off = document.createElement('canvas');
        off.width = c.width;
        off.height = c.height;
        const ctx = off.getContext('2d');
        ctx.drawImage(c, 0, 0);
        const px = ctx.getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < px.length; i += 4) {
          const r = px[i], g = px[i + 1], b = px[i + 2], a = px[i + 3];
          if (a === 0) continue;
          if (!(r > 245 && g > 245 && b > 245)) info.ink++;
          if (a >= 128 && Math.max(r, g, b) - Math.min(r, g, b) >= 60) info.colored++;
        }
      }
      out[sel] = info;
    }
    return out;
  }, selectors);
}

// Rows of a names table: [{method, name, requests}] (the Requests cell is the third).
async function tableRows(page, selector) {
  return page.$$eval(`${selector} tbody tr[data-name]`, (trs) => trs.map((tr) => ({
    method: tr.getAttribute('data-method'),
    name: tr.getAttribute('data-name'),
    requests_text: tr.cells[2] ? tr.cells[2].textContent.trim() : null,
  })));
}

function toInt(text) {
  if (text == null) return null;
  const s = String(text).replace(/[,\s\u00a0\u202f]/g, '');
  return /^\d+$/.test(s) ? Number(s) : null;
}

// "METHOD name" -> requests, from summary.json: HTTP rows, then WebSocket names.
function summaryRows(S) {
  const http = (S.requests || []).map((r) => ({ method: r.method, name: r.name, requests: r.requests }));
  const ws = (S.ws || []).map((w) => ({ method: 'WS', name: w.name, requests: null }));
  return { http, ws };
}

// Compares a table's rows with summary.json; messages for every difference.
function compareRows(where, rows, S) {
  const { http, ws } = summaryRows(S);
  const key = (r) => `${r.method} ${r.name}`;
  const got = new Map(rows.map((r) => [key(r), r]));
  const probs = [];
  if (rows.length !== http.length + ws.length) {
    probs.push(`${where}: ${rows.length} rows, summary.json has ${http.length} requests rows and ${ws.length} ws names`);
  }
  for (const r of http) {
    const g = got.get(key(r));
    if (!g) { probs.push(`${where}: no row for ${key(r)}`); continue; }
    const n = toInt(g.requests_text);
    if (n !== r.requests) probs.push(`${where}: ${key(r)} Requests cell "${g.requests_text}", summary.json ${r.requests}`);
  }
  for (const w of ws) if (!got.has(key(w))) probs.push(`${where}: no row for WebSocket name ${w.name}`);
  return probs;
}

function toNum(text) {
  if (text == null) return null;
  const s = String(text).replace(/[,\s\u00a0\u202f]/g, '');
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : null;
}

// The Aggregated row's cells (tfoot of table#names) and the header's req/s figure.
async function aggAndHeader(page) {
  return page.evaluate(() => {
    const tr = document.querySelector('#names tfoot tr.total');
    return {
      agg: tr ? [...tr.cells].map((c) => c.textContent.trim()) : null,
      rps_label: document.getElementById('rps-label').textContent.trim(),
      rps: document.getElementById('rps-now').textContent.trim(),
    };
  });
}
const AGG_LAT = { 4: 'p50', 5: 'p95', 7: 'p99', 8: 'max' };   /* cell -> summary latency_ms key */

async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return r.json();
}

async function shot(page, name) {
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true, timeout: 10000 });
  result.screenshots.push(file);
}

function scenarioYaml() {
  // /orders without a token answers 401: a steady source of failures for the errors
  // chart and table; /static/ok may fail too when the target injects errors there.
  return `name: e2e-dashboard
target: ${TARGET}
load:
  stages: [ { duration: 2s, users: 4 }, { duration: 30s, users: 4 } ]
  graceful_stop: 2s
users:
  - name: visitor
    flow:
      - loop:
          steps:
            - http: { name: ping, url: /ping }
            - http: { name: static, url: /static/ok }
            - http: { name: orders-denied, url: /ppic/manufacturing-orders?page=1 }
            - think: 100ms
`;
}

async function dashboard(ctx) {
  const page = await ctx.newPage();
  current = page;
  page.on('pageerror', (e) => result.page_errors.push(String(e && e.message || e)));
  page.on('console', (m) => { if (m.type() === 'error') result.console_errors.push(m.text()); });
  step = 'open the dashboard';
  const resp = await page.goto(UI + '/', { waitUntil: 'load', timeout: 15000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${UI}/: ${resp && resp.status()}`);
  for (const id of ['scenario-yaml', 'scenario-file', 'users', 'spawn-rate', 'duration', 'expect-workers',
                    'host', 'start', 'start-error', 'stop', 'state', 'names', 'errors', 'workers', 'thresholds',
                    ...DASH_CHARTS]) {
    if (await page.locator('#' + id).count() !== 1) fail(`dashboard: no element #${id}`);
  }
  // The page polls /api/live once a second: wait for it to have drawn the idle state.
  await waitFor('the idle state', 10000, async () => (await page.textContent('#state')).trim() === 'idle');
  // A master takes runs: its New-run panel shows, the local-run note does not.
  const panes = await page.evaluate(() => ({ start: !document.getElementById('start-card').hidden,
                                             local: !document.getElementById('local-note').hidden }));
  result.dashboard.panes = panes;
  if (!panes.start || panes.local) fail(`dashboard of a master: New-run panel shown ${panes.start}, local note shown ${panes.local}`);
  const before = await canvasInk(page, DASH_CHARTS.map((id) => '#' + id));
  result.dashboard.charts_before = before;

  step = 'fill the form';
  await page.fill('#scenario-yaml', scenarioYaml());
  await page.fill('#users', '10');
  await page.fill('#spawn-rate', '10');
  await page.fill('#duration', '12s');
  await page.fill('#expect-workers', '1');
  await page.click('#start');
  step = 'the run to start';
  const started = await waitFor('the run to start', 15000, async () => {
    const err = page.locator('#start-error');
    if (await err.isVisible() && (await err.textContent()).trim()) {
      return { done: true, error: (await err.textContent()).trim() };
    }
    const st = (await page.textContent('#state')).trim();
    return (st === 'running' || st === 'waiting') ? { done: true, state: st } : { done: false, state: st };
  });
  if (started.error) throw new Error(`Start refused: ${started.error}`);

  // Running: rows for every step, every chart drawn, the worker listed, a few seconds in.
  const running = await waitFor('rows, drawn charts and the worker', 25000, async () => {
    const rows = await tableRows(page, '#names');
    const ink = await canvasInk(page, DASH_CHARTS.map((id) => '#' + id));
    const workers = await page.$$eval('#workers tbody tr[data-id]', (trs) => trs.map((tr) => ({
      id: tr.getAttribute('data-id'), text: tr.textContent.replace(/\s+/g, ' ').trim() })));
    const names = new Set(rows.map((r) => r.name));
    const missing = STEP_NAMES.filter((n) => !names.has(n));
    const blank = Object.entries(ink).filter(([sel, i]) => i.colored < MIN_COLORED + (before[sel] ? before[sel].colored : 0))
      .map(([sel]) => sel);
    const worker = WORKER_ID ? workers.some((w) => w.id === WORKER_ID) : workers.length > 0;
    const errors = await page.$$eval('#errors tbody tr[data-kind]', (trs) => trs.length);
    const lv = await getJson(UI + '/api/live');
    const ah = await aggAndHeader(page);
    const aggLat = !!ah.agg && Object.keys(AGG_LAT).every((i) => toNum(ah.agg[i]) !== null);
    const done = missing.length === 0 && blank.length === 0 && worker && errors > 0 && lv.elapsed_s >= MIN_RUNNING_S && aggLat;
    return { done, elapsed_s: lv.elapsed_s, missing, blank, worker, workers, errors, rows, ink, ah };
  }, 500);
  result.dashboard.running = { rows: running.rows, charts: running.ink, workers: running.workers, error_rows: running.errors,
                               aggregated: running.ah.agg, rps_label: running.ah.rps_label };
  if (running.ah.rps_label !== 'req/s (last 1 s)') fail(`header while running: label "${running.ah.rps_label}", want "req/s (last 1 s)"`);
  await shot(page, 'dashboard-running.png');

  const live = await getJson(UI + '/api/live');
  result.run_id = live.run_id;
  if (live.state !== 'running') fail(`/api/live state before Stop: ${live.state}`);
  // Issue 13: the workers' own health, once an interval closed (MIN_RUNNING_S is past).
  const lw = (live.workers || []).find((w) => !WORKER_ID || w.id === WORKER_ID);
  if (!lw || !(lw.rss_mib > 0) || !(lw.connections >= 0) || typeof lw.loop_lag_ms !== 'number' ||
      typeof lw.engine_cpu_pct !== 'number' || typeof lw.flagged !== 'boolean')
    fail(`/api/live workers: no health figures (${JSON.stringify(lw)})`);
  const rssCells = await page.$$eval('#workers tbody tr[data-id] td:nth-child(8)', (tds) => tds.map((t) => t.textContent.trim()));
  if (!rssCells.length || !rssCells.some((t) => /^[0-9][0-9,]*\.[0-9]$/.test(t)))
    fail(`dashboard workers table: no RSS MiB figure (${JSON.stringify(rssCells)})`);

  step = 'Stop';
  await page.locator('#stop').click({ timeout: 5000 });
  const end = await waitFor('the run to finish after Stop', 30000, async () => {
    const st = (await page.textContent('#state')).trim();
    return { done: st === 'finished' || st === 'aborted', state: st };
  }, 300);
  result.dashboard.final_state = end.state;
  if (end.state !== 'finished') fail(`after Stop the state is "${end.state}", want "finished" (a graceful stop)`);

  // The results folder, from /api/live (the master's own path; relative to its cwd).
  const fin = await waitFor('out_dir in /api/live', 10000, async () => {
    const j = await getJson(UI + '/api/live');
    return { done: !!j.out_dir && j.state === end.state, j };
  });
  const outDir = path.resolve(fin.j.out_dir);
  result.out_dir = outDir;
  const summaryPath = path.join(outDir, 'summary.json');
  const S = await waitFor('summary.json', 15000, async () => {
    if (!fs.existsSync(summaryPath)) return { done: false };
    return JSON.parse(fs.readFileSync(summaryPath, 'utf8'));
  });
  if (fin.j.requests !== S.totals.requests) fail(`/api/live requests ${fin.j.requests}, summary.json ${S.totals.requests}`);

  // The finished dashboard shows the final counts (its next poll after the end).
  let probs = [];
  await waitFor('the dashboard table to show the final counts', 8000, async () => {
    probs = compareRows('dashboard table#names', await tableRows(page, '#names'), S);
    return probs.length === 0;
  }, 500).catch(() => {});
  probs.forEach(fail);
  const finalInk = await canvasInk(page, DASH_CHARTS.map((id) => '#' + id));
  for (const [sel, i] of Object.entries(finalInk)) {
    if (i.colored < MIN_COLORED) fail(`dashboard ${sel}: nothing drawn after the run (${JSON.stringify(i)})`);
  }
  result.dashboard.final_rows = await tableRows(page, '#names');
  result.dashboard.summary_totals = { requests: S.totals.requests, failures: S.totals.failures };
  if (!(S.totals.failures > 0)) fail('the run had no failures: the errors chart and table were not exercised');
  // After the run: the header shows the run's average, the same figure as the Aggregated
  // row's req/s (run), and the Aggregated latencies are summary.json's totals.
  let ah = null;
  await waitFor('the header to show req/s (run)', 5000, async () => {
    ah = await aggAndHeader(page);
    return ah.rps_label === 'req/s (run)';
  }, 300).catch(() => fail(`header after the run: label "${ah && ah.rps_label}", want "req/s (run)"`));
  result.dashboard.finished = { header: ah, live: { requests: fin.j.requests, elapsed_s: fin.j.elapsed_s } };
  if (ah && ah.agg) {
    if (ah.rps !== ah.agg[9]) fail(`header req/s "${ah.rps}" is not the Aggregated row's req/s (run) "${ah.agg[9]}"`);
    const want = fin.j.requests / fin.j.elapsed_s;
    if (!(Math.abs(toNum(ah.rps) - want) <= (want >= 1000 ? 0.51 : 0.051))) fail(`header req/s ${ah.rps}, /api/live requests / elapsed_s = ${want}`);
    for (const [i, k] of Object.entries(AGG_LAT)) {
      const got = toNum(ah.agg[i]), v = S.totals.latency_ms[k];
      if (got === null || Math.abs(got - v) > 0.006 + v * 0.01) fail(`Aggregated ${k} cell "${ah.agg[i]}", summary.json totals ${v} ms`);
    }
  } else {
    fail('dashboard: no Aggregated row after the run');
  }
  const resultsCard = await page.locator('#results-card').isVisible();
  if (!resultsCard) fail('dashboard: the results card (#results-card) is not shown after the run');
  await shot(page, 'dashboard-finished.png');
  await page.close();
  return { outDir, S };
}

async function report(ctx, outDir, S) {
  const file = path.join(outDir, 'report.html');
  await waitFor('report.html', 10000, async () => fs.existsSync(file));
  const page = await ctx.newPage();
  current = page;
  const errs = [];
  page.on('pageerror', (e) => errs.push(String(e && e.message || e)));
  // Offline: anything but file:// (and data:) is refused, so a CDN dependency shows up.
  const external = [];
  await page.route(/^(https?|wss?):/, (route) => { external.push(route.request().url()); return route.abort(); });
  step = 'open report.html';
  await page.goto('file://' + file, { waitUntil: 'load', timeout: 15000 });
  const sels = REPORT_CHARTS.map((c) => `div.chart[data-chart="${c}"]`);
  let ink = {};
  try {
    await waitFor('the report charts', 10000, async () => {
      ink = await canvasInk(page, sels);
      return Object.values(ink).every((i) => i.colored >= MIN_COLORED);
    }, 300);
  } catch (e) {
    for (const [sel, i] of Object.entries(ink)) {
      if (i.missing) fail(`report.html: no ${sel}`);
      else if (i.canvases === 0) fail(`report.html: ${sel} has no canvas`);
      else if (i.colored < MIN_COLORED) fail(`report.html: ${sel} canvas is blank (${JSON.stringify(i)})`);
    }
  }
  const dataOk = await page.evaluate(() => {
    const s = document.getElementById('stampede-data');
    if (!s) return 'missing';
    try { const d = JSON.parse(s.textContent); return d && d.summary && d.history ? 'ok' : 'incomplete'; } catch (e) { return 'invalid JSON'; }
  });
  if (dataOk !== 'ok') fail(`report.html: script#stampede-data ${dataOk}`);
  const rows = await tableRows(page, 'table#names');
  compareRows('report.html table#names', rows, S).forEach(fail);
  // Issue 13: a generator-health row per worker that has one in summary.json
  const healthRows = await page.$$eval('#health-table tbody tr', (trs) => trs.length);
  const withHealth = (S.workers || []).filter((w) => w && w.health).length;
  if (healthRows !== withHealth) fail(`report.html: ${healthRows} generator-health rows, summary.json has ${withHealth}`);
  // Issue 15: its "Resent" column is summary.json's workers[].health.retries
  const resent = await page.$$eval('#health-table', (ts) => ts.length === 0 ? null : (() => {
    const t = ts[0], heads = [...t.tHead.rows[0].cells].map((c) => c.textContent.trim());
    const k = heads.findIndex((h) => h.startsWith('Resent'));
    return k < 0 ? [] : [...t.tBodies[0].rows].map((r) => Number(r.cells[k].textContent.replace(/[^0-9]/g, '')));
  })());
  if (resent !== null) {
    const want = (S.workers || []).filter((w) => w && w.health).map((w) => Number(w.health.retries || 0)).reduce((a, b) => a + b, 0);
    const got = resent.reduce((a, b) => a + b, 0);
    if (resent.length !== withHealth || got !== want) fail(`report.html: Resent column ${JSON.stringify(resent)}, summary.json retries sum ${want}`);
  }
  if (errs.length) fail(`report.html: page errors: ${errs.join(' | ')}`);
  if (external.length) fail(`report.html: fetched from the network: ${external.join(', ')}`);
  result.report = { charts: ink, rows, page_errors: errs, external };
  await shot(page, 'report.png');
  await page.close();
}

// A run's summary.json through the API (the master's results folder, by run id).
async function waitSummary(what, runId, timeoutMs) {
  return waitFor(what, timeoutMs, async () => {
    const r = await fetch(`${UI}/api/runs/${runId}/files/summary.json`);
    return r.ok ? r.json() : { done: false, status: r.status };
  }, 500);
}

// The form starts configs/erp-peak.yaml, whose data file is data/operators.csv, with the
// CSV picked as a plain file: the page must send it under the scenario's path.
async function erpPeak(ctx) {
  const page = await ctx.newPage();
  current = page;
  const errs = [];
  page.on('pageerror', (e) => errs.push(String(e && e.message || e)));
  step = 'open the dashboard for erp-peak';
  await page.goto(UI + '/', { waitUntil: 'load', timeout: 15000 });
  await waitFor('a finished state', 10000, async () => (await page.textContent('#state')).trim() !== '');
  const before = (await getJson(UI + '/api/live')).run_id;
  step = 'load erp-peak.yaml and its data file';
  await page.setInputFiles('#scenario-file', path.join(ROOT, 'configs', 'erp-peak.yaml'));
  await page.setInputFiles('#data-files', path.join(ROOT, 'configs', 'data', 'operators.csv'));
  const mapped = await waitFor('the data map', 5000, async () => {
    const li = await page.$$eval('#data-map li', (els) => els.map((e) => ({ path: e.dataset.path || null,
      missing: e.dataset.missing || null, text: e.textContent })));
    return { done: li.some((x) => x.path === 'data/operators.csv'), li };
  });
  result.erp_peak = { data_map: mapped.li };
  if (mapped.li.some((x) => x.missing)) fail(`erp-peak: the data map still misses ${JSON.stringify(mapped.li)}`);
  await page.fill('#users', '6');
  await page.fill('#spawn-rate', '6');
  await page.fill('#duration', '4s');
  await page.fill('#expect-workers', '1');
  await page.fill('#host', TARGET);
  await page.click('#start');
  const started = await waitFor('erp-peak to start', 15000, async () => {
    const err = page.locator('#start-error');
    if (await err.isVisible() && (await err.textContent()).trim()) return { done: true, error: (await err.textContent()).trim() };
    const j = await getJson(UI + '/api/live');
    return { done: j.run_id !== before && j.run_id !== null, run_id: j.run_id, state: j.state };
  });
  if (started.error) throw new Error(`erp-peak: Start refused: ${started.error}`);
  result.erp_peak.run_id = started.run_id;
  const S = await waitSummary('erp-peak summary.json', started.run_id, 40000);
  const login = (S.requests || []).filter((r) => r.name === 'login');
  const logins = login.reduce((n, r) => n + r.requests, 0), loginFails = login.reduce((n, r) => n + r.failures, 0);
  result.erp_peak.summary = { scenario: S.scenario, requests: S.totals.requests, logins, login_failures: loginFails };
  if (!(logins > 0)) fail(`erp-peak: no login requests in summary.json: ${JSON.stringify(result.erp_peak.summary)}`);
  if (loginFails !== 0) fail(`erp-peak: ${loginFails} logins failed (the operators' CSV rows log in)`);
  if (errs.length) fail(`erp-peak: page errors: ${errs.join(' | ')}`);
  await page.close();
}

// STAMPEDE_MODE=local-open: the page of a local open-model `stampede run --ui`.
async function localOpen(ctx) {
  const page = await ctx.newPage();
  current = page;
  page.on('pageerror', (e) => result.page_errors.push(String(e && e.message || e)));
  step = 'open the local dashboard';
  await page.goto(UI + '/', { waitUntil: 'load', timeout: 15000 });
  const seen = await waitFor('the open-model schedule and charts', 20000, async () => {
    const st = (await page.textContent('#state')).trim();
    const ui = await page.evaluate(() => ({
      open: document.body.classList.contains('open-model'),
      start_hidden: document.getElementById('start-card').hidden,
      local_note: !document.getElementById('local-note').hidden,
      schedule_visible: document.getElementById('schedule-card').offsetParent !== null,
      schedule: Object.fromEntries([...document.querySelectorAll('#schedule div')].map((d) =>
        [d.querySelector('dt').textContent, d.querySelector('dd').textContent])),
    }));
    const ink = await canvasInk(page, OPEN_CHARTS.map((id) => '#' + id));
    const drawn = Object.values(ink).every((i) => i.colored >= MIN_COLORED);
    const intended = toNum(ui.schedule.Intended);
    return { done: st === 'running' && ui.open && ui.schedule_visible && intended > 0 && drawn, state: st, ui, ink };
  }, 500);
  result.dashboard.open = seen;
  if (!seen.ui.start_hidden) fail('local run: the New-run panel is shown');
  if (!seen.ui.local_note) fail('local run: the local-run note is not shown');
  if (!(toNum(seen.ui.schedule.Started) > 0)) fail(`local run: schedule card ${JSON.stringify(seen.ui.schedule)}`);
  await shot(page, 'dashboard-open.png');
  await page.close();

  const file = path.join(OUT, 'report.html');
  await waitFor('the local run\'s report.html', 40000, async () => fs.existsSync(file), 500);
  const rp = await ctx.newPage();
  current = rp;
  const errs = [];
  rp.on('pageerror', (e) => errs.push(String(e && e.message || e)));
  rp.on('console', (m) => { if (m.type() === 'error') errs.push(m.text()); });
  await rp.route(/^(https?|wss?):/, (route) => route.abort());
  step = 'open the open-model report.html';
  await rp.goto('file://' + file, { waitUntil: 'load', timeout: 15000 });
  const drawnSel = [...REPORT_CHARTS, 'rate', 'service'].map((c) => `div.chart[data-chart="${c}"]`);
  let ink = {};
  await waitFor('the open-model report charts', 10000, async () => {
    ink = await canvasInk(rp, [...drawnSel, 'div.chart[data-chart="backlog"]']);
    return drawnSel.every((s) => ink[s].colored >= MIN_COLORED);
  }, 300).catch(() => fail(`report.html (open model): charts not drawn: ${JSON.stringify(ink)}`));
  const backlog = ink['div.chart[data-chart="backlog"]'];
  if (!backlog || !(backlog.canvases > 0)) fail(`report.html (open model): no backlog chart: ${JSON.stringify(backlog)}`);
  const note = await rp.$eval('#limited-note', (e) => e.textContent).catch(() => null);
  if (!note) fail('report.html (open model): no generator-limited note');
  if (errs.length) fail(`report.html (open model): errors: ${errs.join(' | ')}`);
  result.report = { charts: ink, limited_note: note, errors: errs };
  await shot(rp, 'report-open.png');
  await rp.close();
}

async function main() {
  if (!UI || !TARGET) {
    fail('STAMPEDE_UI and STAMPEDE_TARGET must be set');
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
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  try {
    if (MODE === 'local-open') {
      await localOpen(ctx);
    } else {
      const { outDir, S } = await dashboard(ctx);
      await report(ctx, outDir, S);
      await erpPeak(ctx);
    }
  } catch (e) {
    fail(String(e && e.message || e));
    // What the page showed when it went wrong.
    if (current && !current.isClosed()) await shot(current, 'failure.png').catch(() => {});
  }
  if (result.page_errors.length) fail(`dashboard: page errors: ${result.page_errors.join(' | ')}`);
  finish(0);
}

main().catch((e) => { fail(`unexpected: ${e && e.stack || e}`); finish(1); });
