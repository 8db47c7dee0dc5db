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
    const done = missing.length === 0 && blank.length === 0 && worker && errors > 0 && lv.elapsed_s >= MIN_RUNNING_S;
    return { done, elapsed_s: lv.elapsed_s, missing, blank, worker, workers, errors, rows, ink };
  }, 500);
  result.dashboard.running = { rows: running.rows, charts: running.ink, workers: running.workers, error_rows: running.errors };
  await shot(page, 'dashboard-running.png');

  const live = await getJson(UI + '/api/live');
  result.run_id = live.run_id;
  if (live.state !== 'running') fail(`/api/live state before Stop: ${live.state}`);

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
  if (errs.length) fail(`report.html: page errors: ${errs.join(' | ')}`);
  if (external.length) fail(`report.html: fetched from the network: ${external.join(', ')}`);
  result.report = { charts: ink, rows, page_errors: errs, external };
  await shot(page, 'report.png');
  await page.close();
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
    const { outDir, S } = await dashboard(ctx);
    await report(ctx, outDir, S);
  } catch (e) {
    fail(String(e && e.message || e));
    // What the page showed when it went wrong.
    if (current && !current.isClosed()) await shot(current, 'failure.png').catch(() => {});
  }
  if (result.page_errors.length) fail(`dashboard: page errors: ${result.page_errors.join(' | ')}`);
  finish(0);
}

main().catch((e) => { fail(`unexpected: ${e && e.stack || e}`); finish(1); });
