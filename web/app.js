/* Stampede live dashboard (served by stampede-master from master/assets.h).
 *
 * Plain ES2020, no framework, no build step; the only global it needs is uPlot.
 * Once a second it polls
 *   GET /api/live            header, tables, thresholds, workers (master/live.h)
 *   GET /api/series?after=T  new chart points since T (master/api.h); the charts reset
 *                            when the series' run_id changes
 * and it starts and stops runs with POST /api/runs and POST /api/runs/ID/stop.
 *
 * Ids: every route names a run by its decimal id (what POST /api/runs answers);
 * runPathId() also accepts a 16-digit hex form ("%016x", older masters), which starts
 * with "00" and so cannot be mistaken for a decimal id (no leading zero).
 *
 * Everything that came from the network is put into the page with textContent, never
 * innerHTML: request names and error details are the target's or the scenario's text. */
'use strict';

(() => {
  const POLL_MS = 1000;
  const POLL_SLOW_MS = 5000;          /* after a 401: the user has to reload anyway */
  /* Long on purpose: a 401 to a fetch makes the browser show its sign-in prompt, and
   * aborting the request would take the prompt away under the user's hands. A poll
   * that is merely slow shows the "connection lost" note after SLOW_MS instead. */
  const FETCH_TIMEOUT_MS = 30000;
  const SLOW_MS = 3000;
  const MAX_POINTS = 86400;           /* 24 h at 1 s: bounded memory in the tab */
  const ACTIVE = new Set(['waiting', 'running', 'stopping']);
  const STATES = ['idle', 'waiting', 'running', 'stopping', 'finished', 'aborted'];
  const RESULT_FILES = [
    ['report.html', 'HTML report'],
    ['summary.json', 'summary.json'],
    ['stats.csv', 'stats.csv'],
    ['stats_history.csv', 'stats_history.csv'],
    ['failures.csv', 'failures.csv'],
    ['junit.xml', 'junit.xml'],
  ];
  const STORE_KEY = 'stampede.form.v1';

  const $ = (id) => document.getElementById(id);

  /* ---- formatting ------------------------------------------------------------------ */

  const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

  function isNum(v) { return typeof v === 'number' && Number.isFinite(v); }
  function fmtInt(v) { return isNum(v) ? intFmt.format(v) : '\u2013'; }
  function fmtFixed(v, d) { return isNum(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '\u2013'; }
  /* Milliseconds: more digits where they mean something (sub-ms localhost latencies). */
  function fmtMs(v) { return !isNum(v) ? '\u2013' : v < 10 ? fmtFixed(v, 2) : v < 100 ? fmtFixed(v, 1) : fmtInt(Math.round(v)); }
  function fmtRate(v) { return isNum(v) ? fmtFixed(v, v >= 1000 ? 0 : 1) : '\u2013'; }
  function fmtPct(frac) {
    if (!isNum(frac)) return '\u2013';
    const p = frac * 100;
    if (p === 0) return '0%';
    if (p < 0.01) return '<0.01%';
    return fmtFixed(p, p < 10 ? 2 : 1) + '%';
  }
  /* Seconds as m:ss or h:mm:ss (elapsed time, chart x axis). */
  function fmtClock(sec) {
    if (!isNum(sec) || sec < 0) sec = 0;
    const s = Math.floor(sec);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const pad = (n) => String(n).padStart(2, '0');
    return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
  }
  function fmtAgo(sec) {
    return !isNum(sec) ? '\u2013' : sec < 60 ? `${sec.toFixed(1)} s ago` : sec < 3600 ? `${Math.floor(sec / 60)} min ago` : `${(sec / 3600).toFixed(1)} h ago`;
  }

  /* "90" (seconds), "90s", "500ms", "5m", "1h30m", "1h 30m 10s" -> milliseconds;
   * "" -> 0 (the scenario's own stages); anything else -> null. */
  function parseDurationMs(text) {
    const s = String(text || '').trim().toLowerCase();
    if (s === '') return 0;
    if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
    const re = /(\d+(?:\.\d+)?)\s*(ms|h|m|s)\s*/gy;
    const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 };
    let total = 0, m, pos = 0;
    while ((m = re.exec(s)) !== null) {
      total += parseFloat(m[1]) * unit[m[2]];
      pos = re.lastIndex;
    }
    if (pos !== s.length || pos === 0) return null;
    return Math.round(total);
  }

  /* The /api/runs/ID form (decimal) of a run id from /api/live (hex; see the top). */
  function runPathId(id) {
    if (id === null || id === undefined) return null;
    const s = String(id);
    if (/^[0-9a-f]+$/i.test(s) && (/[a-f]/i.test(s) || (s.length === 16 && s.startsWith('00')))) {
      try { return BigInt('0x' + s).toString(); } catch (e) { return s; }
    }
    return s;
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, String(v));
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function td(text, cls, title) { return el('td', { class: cls, title }, text); }
  /* A table's one row saying it has nothing to show. */
  function emptyRow(colspan, text) { const tr = el('tr', { class: 'empty' }); tr.appendChild(el('td', { colspan }, text)); return tr; }

  /* ---- HTTP ------------------------------------------------------------------------ */

  class HttpError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }
  /* the master could not be reached (refused, reset, timed out) */
  class NetError extends Error {}

  /* fetch with a timeout; resolves with the parsed JSON, rejects with HttpError (an
   * answer other than 2xx, message from its {"error"} when it has one) or a network
   * error. */
  async function api(method, path, body) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const opts = { method, signal: ctl.signal, cache: 'no-store', credentials: 'same-origin',
                     headers: { Accept: 'application/json' } };
      if (body !== undefined) {
        opts.headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(body);
      }
      let r, text;
      try {
        r = await fetch(path, opts);
        text = await r.text();
      } catch (e) {
        throw new NetError(e && e.name === 'AbortError' ? 'timed out' : (e && e.message) || String(e));
      }
      let json = null;
      try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
      if (!r.ok) throw new HttpError(r.status, (json && typeof json.error === 'string') ? json.error : (text.trim() || `${r.status} ${r.statusText}`));
      if (json === null && text) throw new HttpError(r.status, 'the answer is not JSON');
      return json;
    } finally {
      clearTimeout(timer);
    }
  }

  /* ---- connection state ------------------------------------------------------------ */

  let authNeeded = false;
  let failStreak = 0;

  function noteSuccess() {
    failStreak = 0;
    $('conn').hidden = true;
    if (authNeeded) { authNeeded = false; $('auth-note').hidden = true; }
  }
  function noteFailure(err) {
    if (err instanceof HttpError && err.status === 401) { authNeeded = true; $('auth-note').hidden = false; $('conn').hidden = true; return; }
    failStreak++;
    /* one lost poll is noise (a restart, a slow answer); two in a row is worth a word */
    if (failStreak >= 2) $('conn').hidden = false;
  }

  /* ---- charts ---------------------------------------------------------------------- */

  const COLORS = {
    users: '#6d5bd0', rps: '#2563eb', fps: '#dc2626',
    p50: '#16a34a', p95: '#d97706', p99: '#dc2626',
  };

  /* The series kept for the charts: parallel arrays as /api/series sends them. */
  /* The open model's keys (issue 11: coord_point) come too when /api/series sends them;
   * limited_mark is derived here: the achieved rate of a generator-limited interval. */
  const SERIES_KEYS = ['t', 'users', 'rps', 'fps', 'p50', 'p95', 'p99', 's50', 's95', 's99', 'rate_planned',
                       'rate_achieved', 'backlog', 'dropped', 'lag_p99', 'limited', 'limited_mark'];
  /* step: the seconds each kept point covers (/api/series' step_s); the master halves
   * the resolution whenever its series fills up, so a 24 h run stays whole. */
  const series = Object.fromEntries([['runId', undefined], ['lastT', null], ['step', null],
                                     ...SERIES_KEYS.map((k) => [k, []])]);
  const charts = [];

  function chartHeight() { return window.innerWidth < 700 ? 180 : 220; }

  /* Y from 0 to a round value above the largest point (1 when there is nothing yet). */
  function zeroBased(u, dmin, dmax) {
    const hi = isNum(dmax) && dmax > 0 ? dmax : 1;
    return uPlot.rangeNum(0, hi, 0.1, true);
  }

  const INT_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];

  /* yInt: whole-number ticks only (users). */
  function makeChart(id, seriesDefs, yFmt, yInt) {
    const box = $(id);
    if (!box || typeof uPlot !== 'function') return null;
    const axisFont = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const opts = {
      width: Math.max(200, box.clientWidth || 400),
      height: chartHeight(),
      pxAlign: 0,
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: { x: { time: false }, y: { range: zeroBased } },
      legend: { live: true },
      axes: [
        {
          font: axisFont, stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 },
          ticks: { stroke: '#e5e7eb', width: 1, size: 4 },
          incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400],
          values: (u, splits) => splits.map((v) => fmtClock(v)),
          space: 60,
        },
        {
          font: axisFont, stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 },
          ticks: { stroke: '#e5e7eb', width: 1, size: 4 },
          values: (u, splits) => splits.map((v) => yFmt(v)),
          ...(yInt ? { incrs: INT_INCRS } : {}),
          size: 52,
        },
      ],
      series: [
        { label: 'time', value: (u, v) => (v === null || v === undefined ? '\u2013' : fmtClock(v)) },
        ...seriesDefs.map((d) => ({
          label: d.label,
          stroke: d.color,
          width: d.points ? 0 : 1.5,
          fill: d.fill || undefined,
          dash: d.dash || undefined,
          spanGaps: false,
          points: d.points ? { show: true, size: 7, fill: d.color } : { show: false },
          value: (u, v) => (v === null || v === undefined ? '\u2013' : d.fmt(v)),
        })),
      ],
    };
    const u = new uPlot(opts, chartData(seriesDefs), box);
    const chart = { u, box, defs: seriesDefs };
    charts.push(chart);
    return chart;
  }

  function chartData(defs) {
    return [series.t, ...defs.map((d) => series[d.key])];
  }

  function axisNum(v) {
    if (!isNum(v)) return '';
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M';
    if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(1).replace(/\.0$/, '') + 'k';
    return String(Math.round(v * 100) / 100);
  }

  function initCharts() {
    if (typeof uPlot !== 'function') {
      for (const id of ['chart-users', 'chart-rps', 'chart-latency', 'chart-errors']) {
        const b = $(id);
        if (b) b.appendChild(el('p', { class: 'muted' }, 'charts unavailable (uPlot did not load)'));
      }
      return;
    }
    makeChart('chart-users', [
      { key: 'users', label: 'users', color: COLORS.users, fill: 'rgba(109,91,208,0.08)', fmt: fmtInt },
    ], axisNum, true);
    makeChart('chart-rps', [
      { key: 'rps', label: 'requests/s', color: COLORS.rps, fill: 'rgba(37,99,235,0.06)', fmt: fmtRate },
      { key: 'fps', label: 'failures/s', color: COLORS.fps, fmt: fmtRate },
    ], axisNum);
    makeChart('chart-latency', [
      { key: 'p50', label: 'p50', color: COLORS.p50, fmt: (v) => fmtMs(v) + ' ms' },
      { key: 'p95', label: 'p95', color: COLORS.p95, fmt: (v) => fmtMs(v) + ' ms' },
      { key: 'p99', label: 'p99', color: COLORS.p99, fmt: (v) => fmtMs(v) + ' ms' },
    ], axisNum);
    makeChart('chart-errors', [
      { key: 'fps', label: 'errors/s', color: COLORS.fps, fill: 'rgba(220,38,38,0.10)', fmt: fmtRate },
    ], axisNum);
    /* open model: shown while body.open-model */
    makeChart('chart-rate', [{ key: 'rate_planned', label: 'planned', color: COLORS.rps, dash: [6, 4], fmt: fmtRate },
      { key: 'rate_achieved', label: 'achieved', color: COLORS.p50, fill: 'rgba(22,163,74,0.06)', fmt: fmtRate },
      { key: 'limited_mark', label: 'generator-limited', color: COLORS.fps, points: true, fmt: () => 'limited' }], axisNum);
    makeChart('chart-backlog', [{ key: 'backlog', label: 'backlog max', color: COLORS.p95, fmt: fmtInt },
      { key: 'dropped', label: 'dropped', color: COLORS.fps, fmt: fmtInt }], axisNum);
    const msf = (v) => fmtMs(v) + ' ms';
    makeChart('chart-service', [['p95', 'latency p95', COLORS.p95], ['p99', 'latency p99', COLORS.p99],
      ['s95', 'service p95', COLORS.rps, [6, 4]], ['s99', 'service p99', COLORS.users, [6, 4]],
      ['lag_p99', 'lag p99', '#6b7280', [2, 3]]].map(([key, label, color, dash]) => ({ key, label, color, dash, fmt: msf })), axisNum);

    /* Width follows the card (grid columns, window size); height the viewport class. */
    const resize = (c) => {
      const w = Math.floor(c.box.clientWidth);
      if (w > 0 && (w !== c.u.width || chartHeight() !== c.u.height)) c.u.setSize({ width: w, height: chartHeight() });
    };
    if (typeof ResizeObserver === 'function') {
      const ro = new ResizeObserver((entries) => {
        for (const e of entries) {
          const c = charts.find((x) => x.box === e.target);
          if (c) resize(c);
        }
      });
      for (const c of charts) ro.observe(c.box);
    } else {
      window.addEventListener('resize', () => charts.forEach(resize));
    }
  }

  function redrawCharts() {
    for (const c of charts) c.u.setData(chartData(c.defs));
  }

  function resetSeries(runId) {
    series.runId = runId;
    series.lastT = null;
    series.step = null;
    for (const k of SERIES_KEYS) series[k] = [];
  }

  /* Appends the points of one /api/series answer. Returns false when the answer belongs
   * to another run than the kept points, or when the master has coarsened its series
   * since (another step_s): the caller resets and asks for all of it. */
  function appendSeries(j) {
    const runId = j.run_id === undefined ? null : j.run_id;
    if (runId !== series.runId) return false;
    const step = isNum(j.step_s) ? j.step_s : null;
    if (series.t.length && step !== series.step) return false;
    series.step = step;
    const t = Array.isArray(j.t) ? j.t : [];
    const col = (k, i) => {
      if (k === 'limited_mark') return col('limited', i) === 1 ? col('rate_achieved', i) : null;
      const v = Array.isArray(j[k]) ? j[k][i] : null;
      return typeof v === 'boolean' ? +v : isNum(v) ? v : null;
    };
    let added = 0;
    for (let i = 0; i < t.length; i++) {
      if (!isNum(t[i]) || (series.lastT !== null && t[i] <= series.lastT)) continue;
      series.t.push(t[i]);
      for (const k of SERIES_KEYS) if (k !== 't') series[k].push(col(k, i));
      series.lastT = t[i];
      added++;
    }
    const over = series.t.length - MAX_POINTS;
    if (over > 0) for (const k of SERIES_KEYS) series[k].splice(0, over);
    if (added) redrawCharts();
    return true;
  }

  async function pollSeries() {
    const q = series.lastT === null ? '' : `?after=${encodeURIComponent(series.lastT)}`;
    const j = await api('GET', '/api/series' + q);
    if (!j || typeof j !== 'object') return;
    if (appendSeries(j)) return;
    /* a new run (or the first answer): start over with every point it has kept */
    resetSeries(j.run_id === undefined ? null : j.run_id);
    if (q) {
      const all = await api('GET', '/api/series');
      if (all && all.run_id === series.runId) appendSeries(all);
    } else {
      appendSeries(j);
    }
    redrawCharts();
  }

  /* ---- live: header ---------------------------------------------------------------- */

  let live = null;           /* the last /api/live answer */
  let lastState = null;
  let reasonFetchedFor = null;

  function renderHeader(j) {
    const state = STATES.includes(j.state) ? j.state : (j.state || 'idle');
    const badge = $('state');
    badge.textContent = state;
    badge.className = `badge state-${String(state).replace(/[^a-z]/g, '')}`;
    document.body.dataset.state = state;

    $('scenario').textContent = j.scenario || (j.run_id ? '(unnamed scenario)' : 'no run yet');
    $('elapsed').textContent = fmtClock(j.elapsed_s);
    $('users-now').textContent = fmtInt(isNum(j.users) ? j.users : 0);
    /* req/s, one figure per meaning (issue 12): "last 1 s" is the last closed interval
     * (this header while a run goes, the workers table, the chart's points); "run" is
     * requests / elapsed of the whole run (each name, the Aggregated row, and this header
     * once the run has ended: the run's average, not its last second). */
    const ended = !!j.run_id && (state === 'finished' || state === 'aborted');
    $('rps-now').textContent = fmtRate(ended ? runRate(j, j.requests) : (isNum(j.rps) ? j.rps : 0));
    $('rps-label').textContent = ended ? 'req/s (run)' : 'req/s (last 1 s)';
    $('rps-label').title = ended ? 'requests / elapsed time of the whole run' : 'requests in the last closed 1 s interval';
    const fail = $('fail-now');
    fail.textContent = fmtPct(isNum(j.error_rate) ? j.error_rate : 0);
    fail.classList.toggle('fail', isNum(j.error_rate) && j.error_rate > 0);
    fail.title = `${fmtInt(j.failures || 0)} of ${fmtInt(j.requests || 0)} requests failed`;

    const active = ACTIVE.has(state);
    const stop = $('stop');
    stop.disabled = !(j.run_id && (state === 'waiting' || state === 'running'));
    stop.textContent = state === 'stopping' ? 'Stopping\u2026' : 'Stop';
    $('abort').hidden = state !== 'stopping';

    document.title = active ? `Stampede \u00b7 ${state} \u00b7 ${j.scenario || ''}` : 'Stampede';

    /* The start form: open when nothing runs, folded away when a run starts (only on
     * the change, so a user who opened it again keeps it open). */
    if (state !== lastState) {
      const panel = $('start-panel');
      if (active) panel.open = false;
      else if (lastState === null || ACTIVE.has(lastState)) panel.open = true;
      $('start').disabled = active;
      $('start-card').classList.toggle('is-active', active);
    }
    lastState = state;
  }

  /* n / elapsed of the run: what the API's per-name "rps" is (master/live.h). */
  function runRate(j, n) { return isNum(n) && isNum(j.elapsed_s) && j.elapsed_s > 0 ? n / j.elapsed_s : 0; }

  /* A local `stampede run --ui` cannot take runs: its New-run form is hidden. /api/live's
   * "local" says so; a master without that field is judged by its one worker, which a
   * local run always names "local" (cli/main.c). Once seen, it stays. */
  let localRun = false;
  function renderLocal(j) {
    const ws = Array.isArray(j.workers) ? j.workers : [];
    if (j.local === true || (j.local === undefined && ws.length === 1 && ws[0].id === 'local')) localRun = true;
    $('start-card').hidden = localRun;
    $('local-note').hidden = !localRun;
  }

  function renderResults(j) {
    const card = $('results-card');
    card.hidden = !(j.run_id && (j.state === 'finished' || j.state === 'aborted'));
    if (card.hidden) return;
    $('out-dir').textContent = j.out_dir || '\u2013';
    const pid = encodeURIComponent(runPathId(j.run_id));
    const list = $('result-files');
    if (list.dataset.run !== String(j.run_id)) {
      list.textContent = '';
      for (const [name, label] of RESULT_FILES) {
        const a = el('a', { href: `/api/runs/${pid}/files/${name}`, 'data-file': name }, label);
        if (name === 'report.html') { a.target = '_blank'; a.rel = 'noopener'; a.className = 'primary-link'; }
        else a.setAttribute('download', name);
        list.appendChild(el('li')).appendChild(a);
      }
      list.dataset.run = String(j.run_id);
    }
  }

  /* Why a run ended: /api/live does not carry it, GET /api/runs/ID does. Asked once. */
  async function fetchReason(j) {
    const note = $('run-note');
    const key = `${j.run_id}/${j.state}`;
    if (!j.run_id || (j.state !== 'aborted' && j.state !== 'finished')) {
      if (j.state !== 'finished' && j.state !== 'aborted') { note.hidden = true; reasonFetchedFor = null; }
      return;
    }
    if (reasonFetchedFor === key) return;
    reasonFetchedFor = key;
    try {
      const r = await api('GET', `/api/runs/${encodeURIComponent(runPathId(j.run_id))}`);
      const reason = r && typeof r.reason === 'string' ? r.reason : '';
      if (j.state === 'aborted') {
        note.className = 'notice fail';
        note.textContent = 'Run aborted' + (reason ? `: ${reason}` : '.');
        note.hidden = false;
      } else if (reason && reason !== 'finished') {    /* "stopped", a duration cut... */
        note.className = 'notice';
        note.textContent = `Run finished: ${reason}`;
        note.hidden = false;
      } else {
        note.hidden = true;
      }
    } catch (e) {
      reasonFetchedFor = null;     /* try again next poll */
    }
  }

  /* ---- live: per-name table ---------------------------------------------------------- */

  const sort = { key: null, dir: 1 };     /* null: the server's order (busiest first) */
  const TEXT_KEYS = new Set(['method', 'name']);

  function compareRows(a, b) {
    const k = sort.key;
    let x = a[k], y = b[k];
    let c;
    if (TEXT_KEYS.has(k)) {
      c = String(x || '').localeCompare(String(y || ''), undefined, { numeric: true, sensitivity: 'base' });
    } else {
      x = isNum(x) ? x : -Infinity; y = isNum(y) ? y : -Infinity;
      c = x < y ? -1 : x > y ? 1 : 0;
    }
    if (c === 0 && k !== 'name') c = String(a.name || '').localeCompare(String(b.name || ''));
    return c * sort.dir;
  }

  function renderNames(j) {
    const table = $('names');
    const rows = Array.isArray(j.names) ? j.names.slice() : [];
    if (sort.key) rows.sort(compareRows);
    const tb = table.tBodies[0];
    const frag = document.createDocumentFragment();
    if (rows.length === 0) frag.appendChild(emptyRow(10, j.run_id ? 'No requests yet.' : 'No run yet: start one above.'));
    for (const r of rows) {
      const tr = el('tr', { 'data-name': r.name ?? '', 'data-method': r.method ?? '' });
      tr.append(td(r.method ?? '', 'method'), td(r.name ?? '', 'name', r.name ?? ''), td(fmtInt(r.requests), 'num'));
      const f = td(fmtInt(r.failures), 'num' + (isNum(r.failures) && r.failures > 0 ? ' fail' : ''));
      if (isNum(r.failures) && isNum(r.requests) && r.requests > 0 && r.failures > 0) {
        f.title = fmtPct(r.failures / r.requests) + ' failed';
      }
      tr.appendChild(f);
      /* a name without a request has no latency (the API sends 0 for it) */
      const ms = (v) => (r.requests === 0 ? '\u2013' : fmtMs(v));
      tr.append(td(ms(r.median_ms), 'num'), td(ms(r.p95_ms), 'num'), td(ms(r.service_p95_ms), 'num open-only'),
        td(ms(r.p99_ms), 'num'), td(ms(r.max_ms), 'num'), td(fmtRate(r.rps), 'num'));
      frag.appendChild(tr);
    }
    tb.replaceChildren(frag);

    /* Aggregated line, as Locust shows it: the whole run's counts, its latencies from
     * /api/live "total" (the merged histogram of every request; a master without it
     * leaves them blank: percentiles cannot be summed) and req/s (run), the same
     * requests / elapsed as each name's (not a sum of rows: the rows are capped). */
    const tf = table.tFoot;
    tf.textContent = '';
    if (rows.length > 1 || (rows.length === 1 && isNum(j.requests))) {
      const tot = j.total && typeof j.total === 'object' ? j.total : {};
      const tr = el('tr', { class: 'total', 'data-name': 'Aggregated' });
      const n = isNum(j.requests) ? j.requests : rows.reduce((s, r) => s + (r.requests || 0), 0);
      const fails = isNum(j.failures) ? j.failures : rows.reduce((s, r) => s + (r.failures || 0), 0);
      const ms = (k) => (n > 0 && isNum(tot[k]) ? fmtMs(tot[k]) : '');
      tr.append(td(''), td('Aggregated', 'name'), td(fmtInt(n), 'num'), td(fmtInt(fails), 'num' + (fails > 0 ? ' fail' : '')),
        td(ms('median_ms'), 'num'), td(ms('p95_ms'), 'num'), td(ms('service_p95_ms'), 'num open-only'),
        td(ms('p99_ms'), 'num'), td(ms('max_ms'), 'num'), td(fmtRate(runRate(j, n)), 'num'));
      tf.appendChild(tr);
    }
  }

  function initSorting() {
    const table = $('names');
    for (const th of table.tHead.rows[0].cells) {
      th.tabIndex = 0;
      th.setAttribute('role', 'columnheader');
      th.title = 'sort';
      const go = () => {
        const k = th.dataset.key;
        if (sort.key === k) {
          /* third click: back to the server's order */
          if (sort.dir === (TEXT_KEYS.has(k) ? -1 : 1)) sort.key = null;
          else sort.dir = -sort.dir;
        } else {
          sort.key = k;
          sort.dir = TEXT_KEYS.has(k) ? 1 : -1;       /* numbers: biggest first */
        }
        for (const h of table.tHead.rows[0].cells) { h.classList.remove('sort-asc', 'sort-desc'); h.removeAttribute('aria-sort'); }
        if (sort.key) {
          th.classList.add(sort.dir > 0 ? 'sort-asc' : 'sort-desc');
          th.setAttribute('aria-sort', sort.dir > 0 ? 'ascending' : 'descending');
        }
        if (live) renderNames(live);
      };
      th.addEventListener('click', go);
      th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
    }
  }

  /* ---- live: failures, thresholds, workers ------------------------------------------- */

  function renderErrors(j) {
    const rows = Array.isArray(j.errors) ? j.errors : [];
    const frag = document.createDocumentFragment();
    if (rows.length === 0) frag.appendChild(emptyRow(5, 'No failures.'));
    for (const e of rows) {
      const tr = el('tr', { 'data-name': e.name ?? '', 'data-method': e.method ?? '', 'data-kind': e.kind ?? '' });
      tr.append(td(e.method ?? '', 'method'), td(e.name ?? '', 'name', e.name ?? ''), td(e.kind ?? '', 'kind'),
        td(e.detail ?? '', 'detail', e.detail ?? ''), td(fmtInt(e.count), 'num fail'));
      frag.appendChild(tr);
    }
    $('errors').tBodies[0].replaceChildren(frag);
  }

  /* The measured value in the threshold's unit (master/thresholds.h: latencies in ms,
   * error_rate a fraction, rps requests/s, counts plain). */
  function fmtThresholdValue(expr, v) {
    if (!isNum(v)) return 'no data';
    const mon = /^\s*monitor\s+[\w-]+\.(\w+)(\s+growth)?/.exec(String(expr || ''));   /* issue 13 */
    if (mon) return fmtFixed(v, 2) + (mon[2] || mon[1] === 'cpu' || mon[1] === 'memory' ? ' %' : '');
    const metric = String(expr || '').split(':').pop();
    if (/\berror_rate\b/.test(metric)) return fmtPct(v);
    if (/\brps\b/.test(metric)) return `${fmtRate(v)} req/s`;
    if (/\b(requests|failures|out_of_order)\b/.test(metric)) return fmtInt(v);
    if (/\b(p\d+|min|max|mean|avg|median)\b/.test(metric)) return `${fmtMs(v)} ms`;
    return fmtFixed(v, 2);
  }

  function renderThresholds(j) {
    const list = $('thresholds');
    const items = Array.isArray(j.thresholds) ? j.thresholds : [];
    const frag = document.createDocumentFragment();
    if (items.length === 0) {
      frag.appendChild(el('li', { class: 'empty muted' }, 'The scenario has no thresholds.'));
    }
    for (const t of items) {
      const ok = t.ok === true;
      const li = el('li', { class: ok ? 'ok' : 'fail', 'data-expr': t.expr ?? '' });
      li.append(el('span', { class: 'mark', 'aria-hidden': 'true' }, ok ? '\u2713' : '\u2717'), el('code', { class: 'expr' }, t.expr ?? ''),
        el('span', { class: 'value' }, fmtThresholdValue(t.expr, t.value)), el('span', { class: 'verdict' }, ok ? 'pass' : 'fail'));
      frag.appendChild(li);
    }
    list.replaceChildren(frag);
  }

  function renderWorkers(j) {
    const rows = Array.isArray(j.workers) ? j.workers : [];
    const frag = document.createDocumentFragment();
    if (rows.length === 0) frag.appendChild(emptyRow(12, 'No worker connected. Start one with: stampede-worker --master tcp://THIS-HOST:5557'));
    const flagged = [];
    for (const w of rows) {
      const tr = el('tr', { 'data-id': w.id ?? '', class: w.flagged ? 'flagged' : null }), st = String(w.state ?? ''), stCell = td('', 'state');
      stCell.appendChild(el('span', { class: `pill wstate-${st.replace(/[^a-z]/g, '')}` }, st));
      if (w.flagged_intervals > 0) {
        stCell.appendChild(el('span', { class: 'pill wflag', title: 'intervals with an engine above 90% CPU or its event loop over 10 ms late' },
          `flagged ${fmtInt(w.flagged_intervals)}`));
        flagged.push(w);
      }
      const stale = isNum(w.last_seen_s) && w.last_seen_s > 5 && st !== 'left' && st !== 'lost';
      /* issue 13: its health in its last closed interval (null before one) */
      tr.append(td(w.id ?? '', 'id mono', w.id ?? ''), td(w.host ?? '', 'host'), td(fmtInt(w.threads), 'num'),
        td(fmtInt(w.users), 'num'), td(fmtRate(w.rps), 'num'), td(isNum(w.cpu_pct) ? fmtFixed(w.cpu_pct, 1) : '\u2013', 'num'),
        td(isNum(w.engine_cpu_pct) ? fmtFixed(w.engine_cpu_pct, 1) : '\u2013', 'num' + (w.engine_cpu_pct > 90 ? ' fail' : '')),
        td(isNum(w.rss_mib) ? fmtFixed(w.rss_mib, 1) : '\u2013', 'num'),
        td(isNum(w.loop_lag_ms) ? fmtMs(w.loop_lag_ms) : '\u2013', 'num' + (w.loop_lag_ms > 10 ? ' fail' : '')),
        td(fmtInt(w.connections) + (w.retries > 0 ? ` (${fmtInt(w.retries)} resent)` : ''), 'num',
          w.retries > 0 ? 'requests the lean HTTP client sent again on a new connection after their kept-alive connection closed before any answer byte, run so far' : null),
        stCell, td(fmtAgo(w.last_seen_s), 'num' + (stale ? ' warn' : '')));
      frag.appendChild(tr);
    }
    $('workers').tBodies[0].replaceChildren(frag);
    const note = $('workers-verdict');
    note.hidden = flagged.length === 0;
    note.textContent = flagged.length === 0 ? '' : flagged.map((w) => `Worker ${w.id} was flagged in ${fmtInt(w.flagged_intervals)} interval${w.flagged_intervals === 1 ? '' : 's'}`).join('; ') +
      ' (an engine above 90% CPU or its event loop over 10 ms late): the generator may have been the bottleneck.';
  }

  /* The open model's schedule card (issue 11: /api/live "schedule"); body.open-model
   * shows it with the open-model charts and the service column. */
  function renderSchedule(j) {
    const open = j.open_model === true, was = document.body.classList.contains('open-model');
    document.body.classList.toggle('open-model', open);
    if (open && !was) window.dispatchEvent(new Event('resize'));   /* charts get their width */
    if (!open) return;
    const s = j.schedule && typeof j.schedule === 'object' ? j.schedule : {}, lim = s.generator_limited_intervals || 0;
    const frag = document.createDocumentFragment();
    for (const [k, v, bad] of [
      ['Rate planned', fmtRate(s.rate_planned) + '/s'],
      ['Rate achieved', fmtRate(s.rate_achieved) + '/s', s.rate_achieved < s.rate_planned * 0.95],
      ['Intended', fmtInt(s.intended)], ['Started', fmtInt(s.started)],
      ['Dropped', fmtInt(s.dropped), s.dropped > 0], ['Backlog max', fmtInt(s.backlog_max)],
      ['Lag p99', isNum(s.lag_p99_ms) ? fmtMs(s.lag_p99_ms) + ' ms' : '\u2013', s.lag_p99_ms > 10],
      ['Limited intervals', fmtInt(lim), lim > 0]]) {
      const d = el('div');
      d.append(el('dt', null, k), el('dd', bad ? { class: 'fail' } : null, v));
      frag.appendChild(d);
    }
    $('schedule').replaceChildren(frag);
    const note = $('schedule-verdict');
    note.hidden = !(lim > 0);
    note.className = 'notice fail';
    note.textContent = lim > 0 ? `The generator did not keep the schedule in ${fmtInt(lim)} interval${lim === 1 ? '' : 's'} (lag p99 above 10 ms or an engine thread above 90% CPU).` : '';
  }

  /* The system under test, watched (issue 13: /api/live "monitor", master/monitor.h):
   * a card after the charts, made on first use and hidden without a monitor section: a
   * chart of the percentages (cpu, memory of every target) over the monitor's own clock
   * (seconds since it started, rounded to the second), a row per figure with its last,
   * min, mean and max, and the targets whose scrapes failed (counted, never fatal). */
  let monChart = null, monKeys = '';
  const MON_COLORS = ['#7c3aed', '#2563eb', '#16a34a', '#d97706', '#dc2626', '#0891b2'];
  function fmtMonValue(metric, v) {
    if (!isNum(v)) return '\u2013';
    if (metric === 'cpu' || metric === 'memory') return fmtFixed(v, 1) + ' %';
    return Math.abs(v) >= 1000 ? fmtInt(Math.round(v)) : fmtFixed(v, 2);
  }
  function renderMonitor(j) {
    const m = j.monitor && typeof j.monitor === 'object' ? j.monitor : null;
    let card = $('monitor-card');
    if (!m) { if (card) card.hidden = true; return; }
    if (!card) {
      card = el('section', { class: 'card', id: 'monitor-card' });
      const wrap = el('div', { class: 'table-wrap' }), table = el('table', { id: 'monitor', class: 'data' });
      const head = el('tr');
      for (const [h, num] of [['Target'], ['Metric'], ['Last', 1], ['Min', 1], ['Mean', 1], ['Max', 1]])
        head.appendChild(el('th', num ? { class: 'num' } : null, h));
      const thead = el('thead');
      thead.appendChild(head);
      table.append(thead, el('tbody'));
      wrap.appendChild(table);
      card.append(el('h2', null, 'System under test (monitor)'), el('div', { class: 'chart', id: 'chart-monitor' }),
        wrap, el('p', { class: 'muted', id: 'monitor-targets' }));
      const charts = document.querySelector('section.charts');
      if (charts) charts.after(card); else document.body.appendChild(card);
    }
    card.hidden = false;
    const figs = Array.isArray(m.figures) ? m.figures : [], tgs = Array.isArray(m.targets) ? m.targets : [];
    const frag = document.createDocumentFragment();
    if (figs.length === 0) frag.appendChild(emptyRow(6, 'No figure scraped yet.'));
    for (const f of figs) {
      const tr = el('tr', { 'data-key': `${f.target}.${f.metric}` });
      tr.append(td(f.target ?? '', 'name'), td(f.metric ?? ''), td(fmtMonValue(f.metric, f.last), 'num'),
        td(fmtMonValue(f.metric, f.min), 'num'), td(fmtMonValue(f.metric, f.mean), 'num'), td(fmtMonValue(f.metric, f.max), 'num'));
      frag.appendChild(tr);
    }
    $('monitor').tBodies[0].replaceChildren(frag);
    const bad = tgs.filter((t) => t.failures > 0);
    $('monitor-targets').textContent = bad.length
      ? bad.map((t) => `${t.target}: ${fmtInt(t.failures)} of ${fmtInt(t.scrapes)} scrapes failed (${t.last_error || 'no reason'})`).join('; ')
      : `${tgs.length} target${tgs.length === 1 ? '' : 's'}, every scrape answered.`;
    if (typeof uPlot !== 'function') return;
    const pct = figs.filter((f) => (f.metric === 'cpu' || f.metric === 'memory') && Array.isArray(f.t));
    const keys = pct.map((f) => `${f.target}.${f.metric}`).join(',');
    const xs = [...new Set(pct.flatMap((f) => f.t.map((t) => Math.round(t))))].sort((a, b) => a - b);
    const data = [xs, ...pct.map((f) => {
      const by = new Map(f.t.map((t, i) => [Math.round(t), f.v[i]]));
      return xs.map((x) => (by.has(x) ? by.get(x) : null));
    })];
    if (monChart && monKeys === keys) { monChart.setData(data); return; }
    if (monChart) { monChart.destroy(); monChart = null; }
    monKeys = keys;
    const box = $('chart-monitor');
    box.replaceChildren();
    if (pct.length === 0) { box.appendChild(el('p', { class: 'muted' }, 'No cpu or memory figure (node_exporter) among the targets.')); return; }
    monChart = new uPlot({
      width: Math.max(200, box.clientWidth || 400), height: chartHeight(),
      scales: { x: { time: false }, y: { range: () => [0, 100] } },
      axes: [{ values: (u, s) => s.map((v) => fmtClock(v)), space: 60,
               incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400] },
             { values: (u, s) => s.map((v) => v + '%'), size: 52 }],
      series: [{ label: 'time', value: (u, v) => (v == null ? '\u2013' : fmtClock(v)) },
        ...pct.map((f, i) => ({ label: `${f.target} ${f.metric}`, stroke: MON_COLORS[i % MON_COLORS.length], width: 1.5,
          spanGaps: true, value: (u, v) => (v == null ? '\u2013' : fmtFixed(v, 1) + ' %') }))],
    }, data, box);
  }

  async function pollLive() {
    const j = await api('GET', '/api/live');
    if (!j || typeof j !== 'object') return;
    live = j;
    renderHeader(j);
    renderLocal(j);
    renderResults(j);
    renderSchedule(j);
    renderNames(j);
    renderErrors(j);
    renderThresholds(j);
    renderWorkers(j);
    renderMonitor(j);
    fetchReason(j);
    /* Before the first run the live text lists no worker yet (it is rebuilt per
     * interval of a run): show the connected ones from /api/workers meanwhile. */
    if (!Array.isArray(j.workers) || j.workers.length === 0) {
      try {
        const w = await api('GET', '/api/workers');
        if (w && Array.isArray(w.workers) && live === j) renderWorkers({ workers: w.workers });
      } catch (e) { /* the next poll tries again; /api/live decides what the page says */ }
    }
  }

  /* ---- polling loop ---------------------------------------------------------------- */

  let pollTimer = null;
  let polling = false;

  async function pollOnce() {
    if (polling) return;
    polling = true;
    const slow = setTimeout(() => { if (!authNeeded) $('conn').hidden = false; }, SLOW_MS);
    try {
      const done = await Promise.allSettled([pollLive(), pollSeries()]);
      const errs = done.filter((d) => d.status === 'rejected').map((d) => d.reason);
      const isNet = (e) => e instanceof HttpError || e instanceof NetError;
      for (const e of errs) if (!isNet(e)) console.error(e);      /* a bug of ours */
      const net = errs.find((e) => e instanceof HttpError && e.status === 401) || errs.find(isNet);
      if (net) noteFailure(net); else noteSuccess();
    } finally {
      clearTimeout(slow);
      polling = false;
    }
  }

  function schedule(ms) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      await pollOnce();
      schedule(authNeeded ? POLL_SLOW_MS : POLL_MS);
    }, ms);
  }

  function pollSoon() { schedule(0); }

  /* ---- start and stop -------------------------------------------------------------- */

  let scenarioFileName = null;

  function showStartError(msg) {
    const box = $('start-error');
    box.textContent = msg || '';
    box.hidden = !msg;
  }

  /* Blob.text(): every browser since 2020 (Chromium 76, Firefox 69, Safari 14). */
  function readFileText(file) { return file.text(); }

  /* The form's fields as stored (key in storage -> input id). */
  const STORED = { yaml: 'scenario-yaml', users: 'users', rate: 'spawn-rate', duration: 'duration', expect: 'expect-workers', host: 'host' };

  function saveForm() {
    try {
      const v = { file: scenarioFileName };
      for (const [k, id] of Object.entries(STORED)) v[k] = $(id).value;
      localStorage.setItem(STORE_KEY, JSON.stringify(v));
    } catch (e) { /* storage off or full: the form just is not remembered */ }
  }

  function restoreForm() {
    try {
      const v = JSON.parse(localStorage.getItem(STORE_KEY) || 'null');
      if (!v) return;
      for (const [k, id] of Object.entries(STORED)) if (typeof v[k] === 'string' && (v[k] || k !== 'expect')) $(id).value = v[k];
      if (typeof v.file === 'string' && v.file) $('scenario-file-name').textContent = scenarioFileName = v.file;
    } catch (e) { /* ignore */ }
  }

  /* Data files (issue 12): a scenario names its CSVs by a path relative to its own file
   * (`csv: data/operators.csv`) and a browser hands over only file names, so each picked
   * file goes under the path of the scenario's csv: with its base name; a file no csv:
   * names goes under its own name; a name two csv: paths share is refused (saying which).
   * The paths are read from the YAML text by a pattern (comments left out): the master
   * parses the real scenario and names a data file that is still missing. */
  function csvPaths(yaml) {
    const out = new Set();
    for (const line of String(yaml).split('\n')) {
      const re = /(?:^|[\s{,])csv:\s*(?:"([^"]+)"|'([^']+)'|([^\s,}#]+))/g, code = line.replace(/(^|\s)#.*$/, '');
      for (let m; (m = re.exec(code));) out.add(m[1] || m[2] || m[3]);
    }
    return [...out];
  }
  /* [{file, path, named}], or the message of an ambiguous name. */
  function mapDataFiles(files, yaml) {
    const paths = csvPaths(yaml), out = [];
    for (const file of files) {
      const hits = paths.filter((p) => p.split('/').pop() === file.name);
      if (hits.length > 1) return `${file.name} matches ${hits.join(' and ')} in the scenario: send them from the command line`;
      out.push({ file, path: hits[0] || file.name, named: hits.length === 1 });
    }
    return out;
  }
  /* Under the picker: where each file goes, and the csv: paths no picked file fills. */
  function renderDataMap() {
    const files = $('data-files').files || [], yaml = $('scenario-yaml').value, map = mapDataFiles(files, yaml);
    if (typeof map === 'string') { $('data-map').replaceChildren(el('li', { class: 'fail' }, map)); return; }
    const items = map.map((m) => el('li', { 'data-path': m.path },
      m.named ? `${m.file.name} \u2192 ${m.path}` : `${m.file.name} (no csv: names it; sent under its own name)`));
    for (const p of csvPaths(yaml)) {
      if (!map.some((m) => m.path === p)) items.push(el('li', { class: 'warn', 'data-missing': p }, `${p}: no file picked yet`));
    }
    $('data-map').replaceChildren(...items);
  }

  /* Reads a whole non-negative number from an input; '' -> 0. null when invalid. */
  function readCount(id, allowFraction) {
    const s = $(id).value.trim();
    if (s === '') return 0;
    const n = Number(s);
    if (!Number.isFinite(n) || n < 0 || (!allowFraction && !Number.isInteger(n))) return null;
    return n;
  }

  /* The POST /api/runs body (master/api_req.h api_plan_from_json); a schedule's "run"
   * (POST /api/schedules) is the same body. */
  function runBody(yaml, fileName, users, rate, durationMs, expect, host) {
    const body = {
      scenario: yaml,
      scenario_file: fileName || 'dashboard.yaml',
      users, rate, duration_ms: durationMs, expect_workers: expect,
    };
    if (host) body.host = host;
    return body;
  }

  async function startRun(ev) {
    ev.preventDefault();
    showStartError('');
    const yaml = $('scenario-yaml').value;
    if (!yaml.trim()) { showStartError('The scenario is empty: paste its YAML or load a .yaml file.'); return; }
    const users = readCount('users', false);
    if (users === null) { showStartError('Users must be a whole number (empty: as the scenario says).'); return; }
    const rate = readCount('spawn-rate', true);
    if (rate === null) { showStartError('Spawn rate must be a number of users per second.'); return; }
    const durationMs = parseDurationMs($('duration').value);
    if (durationMs === null) { showStartError('Duration: use e.g. 90, 90s, 5m or 1h30m (empty: as the scenario says).'); return; }
    const expectTxt = $('expect-workers').value.trim();
    const expect = expectTxt === '' ? 1 : Number(expectTxt);
    if (!Number.isInteger(expect) || expect < 1) { showStartError('Expect workers must be a whole number, 1 or more.'); return; }
    const host = $('host').value.trim();

    const body = runBody(yaml, scenarioFileName, users, rate, durationMs, expect, host);
    const data = $('data-files').files;
    if (data && data.length) {
      const map = mapDataFiles(data, yaml);
      if (typeof map === 'string') { showStartError('Data files: ' + map); return; }
      body.files = [];
      for (const m of map) body.files.push({ path: m.path, data: await readFileText(m.file) });
    }
    saveForm();

    const btn = $('start');
    btn.disabled = true;
    btn.classList.add('busy');
    try {
      await api('POST', '/api/runs', body);
      noteSuccess();
      resetSeries(undefined);           /* the next series answer names the new run */
      pollSoon();
    } catch (e) {
      if (e instanceof HttpError) {
        if (e.status === 401) noteFailure(e);
        const prefix = e.status === 409 ? 'A run is already in progress: ' : '';
        showStartError(prefix + e.message);
      } else {
        showStartError('Cannot reach the master: ' + (e && e.message ? e.message : String(e)));
      }
      btn.disabled = !!(live && ACTIVE.has(live.state));
    } finally {
      btn.classList.remove('busy');
    }
  }

  async function stopRun(abort) {
    if (!live || !live.run_id) return;
    const btn = abort ? $('abort') : $('stop');
    btn.disabled = true;
    try {
      await api('POST', `/api/runs/${encodeURIComponent(runPathId(live.run_id))}/stop`, abort ? { abort: true } : {});
    } catch (e) {
      noteFailure(e);
      if (!(e instanceof HttpError && e.status === 401)) {
        const note = $('run-note');
        note.className = 'notice fail';
        note.textContent = 'Stop failed: ' + (e && e.message ? e.message : String(e));
        note.hidden = false;
        reasonFetchedFor = null;
      }
    } finally {
      if (abort) btn.disabled = false;
      pollSoon();
    }
  }

  function initForm() {
    restoreForm();
    renderDataMap();
    $('start-form').addEventListener('submit', startRun);
    $('stop').addEventListener('click', () => stopRun(false));
    $('abort').addEventListener('click', () => stopRun(true));
    $('scenario-file').addEventListener('change', async (ev) => {
      const f = ev.target.files && ev.target.files[0];
      if (!f) return;
      try {
        $('scenario-yaml').value = await readFileText(f);
        scenarioFileName = f.name;
        $('scenario-file-name').textContent = `${f.name} loaded`;
        showStartError('');
        saveForm();
        renderDataMap();
      } catch (e) {
        showStartError(`Cannot read ${f.name}: ${e && e.message ? e.message : e}`);
      }
    });
    /* A hand edit keeps the file name (errors still point at its lines) unless the
     * text is cleared. */
    $('scenario-yaml').addEventListener('input', () => {
      if (!$('scenario-yaml').value) { scenarioFileName = null; $('scenario-file-name').textContent = ''; }
      renderDataMap();
    });
    $('data-files').addEventListener('change', renderDataMap);
    for (const id of ['users', 'spawn-rate', 'duration', 'expect-workers', 'host']) {
      $(id).addEventListener('change', saveForm);
    }
    $('duration').addEventListener('input', () => {
      $('duration').classList.toggle('invalid', parseDurationMs($('duration').value) === null);
    });
  }

  /* ---- pages: Live, Runs, Schedules (issue 14) ---------------------------------------- */

  /* The header's nav switches pages by the URL's hash (#live, #runs, #schedules); the
   * live view keeps polling underneath, so its charts are whole when it shows again. */
  const PAGES = ['live', 'runs', 'schedules'];
  let page = 'live';
  let schedTimer = null;

  function showPage(name) {
    if (!PAGES.includes(name)) name = 'live';
    const was = page;
    page = name;
    for (const p of PAGES) $(`page-${p}`).hidden = p !== name;
    for (const a of $('nav').querySelectorAll('a[data-page]')) {
      const on = a.dataset.page === name;
      a.classList.toggle('active', on);
      if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    clearInterval(schedTimer);
    schedTimer = null;
    if (name === 'live' && was !== 'live') window.dispatchEvent(new Event('resize'));
    if (name === 'runs') loadRuns();
    if (name === 'schedules') {
      /* an empty add form starts from the New-run form's scenario and host */
      if (!$('sched-yaml').value.trim()) $('sched-yaml').value = $('scenario-yaml').value;
      if (!$('sched-host').value.trim()) $('sched-host').value = $('host').value;
      loadSchedules();
      schedTimer = setInterval(loadSchedules, 10000);     /* next starts, runs, events */
    }
  }

  function boxError(id, msg) {
    const box = $(id);
    box.textContent = msg || '';
    box.hidden = !msg;
  }
  /* An API failure as the page says it (the server's 400/404/409 message as is). */
  function errText(e) {
    if (e instanceof HttpError) {
      if (e.status === 401) { noteFailure(e); return 'Authentication is required: reload the page and sign in.'; }
      return e.message;
    }
    return 'Cannot reach the master: ' + (e && e.message ? e.message : String(e));
  }

  /* ms since the epoch -> "2026-12-03 17:04:05" in the browser's zone, or in UTC. */
  function fmtStamp(ms, utc) {
    if (!isNum(ms)) return '\u2013';
    const d = new Date(ms), pad = (n) => String(n).padStart(2, '0');
    const [Y, M, D, h, m, s] = utc
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
    return `${Y}-${pad(M)}-${pad(D)} ${pad(h)}:${pad(m)}:${pad(s)}${utc ? ' UTC' : ''}`;
  }

  /* "k=v k2=v2" or "k=v, k2=v2" -> [[k, v], ...]; a string saying what is wrong. */
  function parseLabels(text) {
    const out = [];
    for (const part of String(text || '').split(/[\s,]+/).filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq < 1) return `"${part}" is not a label: write KEY=VALUE`;
      out.push([part.slice(0, eq), part.slice(eq + 1)]);
    }
    return out;
  }

  /* A page opened at #runs or #schedules asks before the first live poll answered:
   * whether this is a local run's read-only dashboard comes from /api/live. */
  async function knowLocal() {
    if (live) return;
    try { const j = await api('GET', '/api/live'); if (j && typeof j === 'object' && !live) renderLocal(j); } catch (e) { /* the poll says */ }
  }

  /* ---- Runs page: GET /api/history, /api/history/ID, /api/trends ---------------------- */

  let runs = [];                         /* the listing shown, newest first */
  const scenariosSeen = new Set();
  let picked = [];                       /* ids ticked for the comparison, in click order */
  let runsLoading = 0;

  function fillScenarios() {
    const sel = $('runs-scenario'), cur = sel.value;
    const opts = [el('option', { value: '' }, 'all scenarios')];
    for (const s of [...scenariosSeen].sort((a, b) => a.localeCompare(b))) opts.push(el('option', { value: s }, s));
    sel.replaceChildren(...opts);
    sel.value = scenariosSeen.has(cur) ? cur : '';
  }

  async function loadRuns() {
    const labels = parseLabels($('runs-label').value);
    if (typeof labels === 'string') { boxError('runs-error', 'Label filter: ' + labels); return; }
    const q = new URLSearchParams();
    const scen = $('runs-scenario').value;
    if (scen) q.append('scenario', scen);
    for (const [k, v] of labels) q.append('label', `${k}=${v}`);
    q.append('limit', '200');
    const mine = ++runsLoading;
    try {
      await knowLocal();
      const j = await api('GET', '/api/history?' + q.toString());
      if (mine !== runsLoading) return;               /* a newer filter answered first */
      runs = j && Array.isArray(j.runs) ? j.runs : [];
      boxError('runs-error', '');
      for (const r of runs) if (typeof r.scenario === 'string') scenariosSeen.add(r.scenario);
      fillScenarios();
      picked = picked.filter((id) => runs.some((r) => r.id === id));
      renderRuns();
      renderCompare();
      loadTrends();
    } catch (e) {
      if (mine !== runsLoading) return;
      boxError('runs-error', errText(e));
      runs = [];
      renderRuns();
    }
  }

  function regressionCell(r) {
    const c = td('', 'regression');
    const g = r.regression && typeof r.regression === 'object' ? r.regression : null;
    if (!g) {
      c.textContent = '\u2013';
      c.title = 'not compared: its scenario had no baseline when it ended';
      return c;
    }
    const list = Array.isArray(g.regressions) ? g.regressions : [];
    if (g.regressed) {
      c.appendChild(el('span', { class: 'pill pill-fail' }, 'REGRESSED'));
      c.title = `against run #${g.baseline}: ` + list.map((x) =>
        `${x.name || 'Aggregated'} ${x.metric} ${isNum(x.change_pct) ? (x.change_pct > 0 ? '+' : '') + x.change_pct.toFixed(1) + '%' : ''}`).join('; ');
    } else {
      c.appendChild(el('span', { class: 'pill pill-ok' }, g.run === g.baseline ? 'baseline' : 'ok'));
      const notes = Array.isArray(g.notes) ? g.notes : [];
      c.title = `no regression against run #${g.baseline}` + (notes.length ? ': ' + notes.join('; ') : '');
    }
    return c;
  }

  function renderRuns() {
    const frag = document.createDocumentFragment();
    if (runs.length === 0) frag.appendChild(emptyRow(13, 'No runs recorded yet (or none matches the filter).'));
    for (const r of runs) {
      const tr = el('tr', { 'data-id': r.id, 'data-scenario': r.scenario ?? '', class: r.baseline ? 'is-baseline' : null });
      const box = el('input', { type: 'checkbox', class: 'pick', 'aria-label': `compare run ${r.id}`, 'data-id': r.id });
      box.checked = picked.includes(r.id);
      const pickCell = td('', 'pick');
      pickCell.appendChild(box);
      const status = td('', 'status');
      status.appendChild(el('span', { class: `pill rstatus-${String(r.status ?? '').replace(/[^a-z]/g, '')}` }, r.status ?? ''));
      const tf = r.verdict && isNum(r.verdict.thresholds_failed) ? r.verdict.thresholds_failed : 0;
      if (tf > 0) status.appendChild(el('span', { class: 'fail small' }, ` ${tf} threshold${tf === 1 ? '' : 's'} failed`));
      const load = isNum(r.rate) && r.model === 'open' ? `${fmtRate(r.rate)}/s` : isNum(r.users) ? `${fmtInt(r.users)} users` : '\u2013';
      const failFrac = isNum(r.requests) && r.requests > 0 && isNum(r.failures) ? r.failures / r.requests : null;
      const labels = r.labels && typeof r.labels === 'object' ? Object.entries(r.labels) : [];
      const labCell = td('', 'labels');
      for (const [k, v] of labels) labCell.appendChild(el('span', { class: 'tag' }, `${k}=${v}`));
      const base = td('', 'baseline');
      if (r.baseline) {
        base.appendChild(el('span', { class: 'pill pill-base', 'data-baseline': r.id }, '\u2605 baseline'));
      } else {
        const b = el('button', { type: 'button', class: 'btn btn-small', 'data-action': 'baseline', 'data-id': r.id,
          title: `make run ${r.id} the baseline of ${r.scenario}` }, 'Make baseline');
        b.hidden = localRun;
        base.appendChild(b);
      }
      tr.append(pickCell, td(r.id, 'num mono'), td(fmtStamp(r.start), 'nowrap', fmtStamp(r.start, true)), status,
        td(r.scenario ?? '', 'name', r.results_dir ?? ''), td(load, 'num'), td(fmtInt(r.requests), 'num'),
        td(fmtPct(failFrac), 'num' + (failFrac > 0 ? ' fail' : '')), td(fmtRate(r.rps), 'num'), td(fmtMs(r.p95), 'num'),
        regressionCell(r), labCell, base);
      frag.appendChild(tr);
    }
    $('runs').tBodies[0].replaceChildren(frag);
    $('runs-count').textContent = runs.length ? `${runs.length} run${runs.length === 1 ? '' : 's'}, newest first` : '';
  }

  async function makeBaseline(id, btn) {
    btn.disabled = true;
    try {
      await api('POST', `/api/history/${encodeURIComponent(id)}/baseline`, {});
      boxError('runs-error', '');
      await loadRuns();
    } catch (e) {
      boxError('runs-error', `Run ${id} cannot be made the baseline: ${errText(e)}`);
      btn.disabled = false;
    }
  }

  /* ---- trends ---------------------------------------------------------------------- */

  const TRENDS = [
    { metric: 'p95', id: 'trend-p95', label: 'p95', color: COLORS.p95, scale: 1, fmt: (v) => fmtMs(v) + ' ms' },
    { metric: 'rps', id: 'trend-rps', label: 'req/s', color: COLORS.rps, scale: 1, fmt: fmtRate },
    { metric: 'error_rate', id: 'trend-error_rate', label: 'error rate', color: COLORS.fps, scale: 100,
      fmt: (v) => fmtFixed(v, 2) + '%' },
  ];
  const trendCharts = {};                /* metric -> {u, box} */
  let trendsLoading = 0;
  let namesFor = null;                   /* the run whose names fill the select */

  /* The scenario the trends are of: the filter's, else the newest run's. */
  function trendScenario() {
    return $('runs-scenario').value || (runs[0] && runs[0].scenario) || '';
  }

  /* The name select: Aggregated, then the names of the scenario's newest run. */
  async function fillTrendNames(scen) {
    const newest = runs.find((r) => r.scenario === scen);
    if (!newest || namesFor === newest.id) return;
    namesFor = newest.id;
    const one = await api('GET', `/api/history/${encodeURIComponent(newest.id)}`);
    const sel = $('trend-name'), cur = sel.value;
    const names = [...new Set((one && Array.isArray(one.requests_by_name) ? one.requests_by_name : [])
      .map((n) => n.name).filter((n) => typeof n === 'string' && n !== 'Aggregated'))];
    sel.replaceChildren(el('option', { value: 'Aggregated' }, 'Aggregated'), ...names.map((n) => el('option', { value: n }, n)));
    sel.value = names.includes(cur) ? cur : 'Aggregated';
  }

  async function loadTrends() {
    const scen = trendScenario();
    $('trend-scenario').textContent = scen ? `of ${scen}` : '';
    const mine = ++trendsLoading;
    if (!scen) { boxError('trends-error', ''); for (const t of TRENDS) drawTrend(t, [], null); return; }
    try {
      await fillTrendNames(scen);
      const name = $('trend-name').value || 'Aggregated';
      const answers = await Promise.all(TRENDS.map((t) => api('GET', '/api/trends?' + new URLSearchParams(
        { scenario: scen, name, metric: t.metric, limit: '200' }).toString())));
      if (mine !== trendsLoading) return;
      boxError('trends-error', '');
      TRENDS.forEach((t, i) => drawTrend(t, answers[i] && Array.isArray(answers[i].points) ? answers[i].points : [],
        answers[i] ? answers[i].baseline : null));
    } catch (e) {
      if (mine !== trendsLoading) return;
      namesFor = null;
      boxError('trends-error', errText(e));
    }
  }

  /* One chart per metric: x is the run's place (oldest first, labelled by its id), the
   * metric's points, the baseline run's value as a dashed line and its point marked. */
  function drawTrend(t, points, baselineId) {
    const box = $(t.id);
    const old = trendCharts[t.metric];
    if (old) { old.u.destroy(); delete trendCharts[t.metric]; }
    box.replaceChildren();
    box.dataset.points = String(points.length);
    box.dataset.baseline = baselineId === null || baselineId === undefined ? '' : String(baselineId);
    if (typeof uPlot !== 'function') { box.appendChild(el('p', { class: 'muted' }, 'charts unavailable (uPlot did not load)')); return; }
    if (points.length === 0) { box.appendChild(el('p', { class: 'muted empty-chart' }, 'No run of this scenario has this name yet.')); return; }
    const ids = points.map((p) => p.id);
    const xs = points.map((_, i) => i);
    const ys = points.map((p) => (isNum(p.value) ? p.value * t.scale : null));
    const bi = ids.indexOf(baselineId);
    const bv = bi >= 0 ? ys[bi] : null;
    const baseLine = xs.map(() => (bi >= 0 && isNum(bv) ? bv : null));
    const baseMark = xs.map((i) => (i === bi ? ys[i] : null));
    const axisFont = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    const label = (i) => (Number.isInteger(i) && i >= 0 && i < ids.length ? `#${ids[i]}` : '');
    const u = new uPlot({
      width: Math.max(200, Math.floor(box.clientWidth) || 400),
      height: chartHeight(),
      pxAlign: 0,
      cursor: { points: { size: 6 } },
      scales: { x: { time: false, range: (u, lo, hi) => [lo - 0.5, hi + 0.5] }, y: { range: zeroBased } },
      legend: { live: true },
      axes: [
        { font: axisFont, stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1, size: 4 },
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], space: 40, values: (u, splits) => splits.map(label) },
        { font: axisFont, stroke: '#6b7280', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1, size: 4 },
          values: (u, splits) => splits.map(axisNum), size: 52 },
      ],
      series: [
        { label: 'run', value: (u, v) => label(v) || '\u2013' },
        { label: t.label, stroke: t.color, width: 2, points: { show: true, size: 6, fill: t.color },
          value: (u, v) => (isNum(v) ? t.fmt(v) : '\u2013') },
        { label: bi >= 0 ? `baseline #${baselineId}` : 'no baseline', stroke: '#111827', width: 1, dash: [6, 4],
          points: { show: false }, value: (u, v) => (isNum(v) ? t.fmt(v) : '\u2013') },
        { label: 'baseline run', stroke: '#111827', width: 0, points: { show: true, size: 11, fill: '#fbbf24', stroke: '#111827' },
          value: (u, v) => (isNum(v) ? 'baseline' : '\u2013') },
      ],
    }, [xs, ys, baseLine, baseMark], box);
    trendCharts[t.metric] = { u, box };
  }

  function resizeTrends() {
    for (const c of Object.values(trendCharts)) {
      const w = Math.floor(c.box.clientWidth);
      if (w > 0 && (w !== c.u.width || chartHeight() !== c.u.height)) c.u.setSize({ width: w, height: chartHeight() });
    }
  }

  /* ---- two runs side by side ------------------------------------------------------- */

  /* The comparison mirrors cli/compare.c's rule (stampede compare BASE NEW): per
   * (method, name), Aggregated first, then BASE's rows, then the rows only NEW has; a
   * metric regresses when it got worse by more than the tolerance (10 % of BASE, the CLI's
   * default): latencies higher, rps lower, error_rate higher with an absolute floor of
   * tolerance/100 (0.1 percentage point); requests and failures are shown, not judged;
   * latencies and error_rate are not measured on a row without a request; the change is
   * relative to BASE ("-" when BASE is 0, percentage points for error_rate). */
  const CMP_TOL = 0.10;
  const CMP_METRICS = [
    { key: 'requests', kind: 'info', fmt: fmtInt },
    { key: 'failures', kind: 'info', fmt: fmtInt },
    { key: 'error_rate', kind: 'err', fmt: (v) => fmtPct(v) },
    { key: 'p50', kind: 'lat', fmt: (v) => fmtMs(v) + ' ms' },
    { key: 'p95', kind: 'lat', fmt: (v) => fmtMs(v) + ' ms' },
    { key: 'p99', kind: 'lat', fmt: (v) => fmtMs(v) + ' ms' },
    { key: 'rps', kind: 'rps', fmt: fmtRate },
  ];

  function cmpValue(row, m) {
    if (!row) return null;
    const n = row.requests;
    if (m.key === 'error_rate') return isNum(n) && n > 0 && isNum(row.failures) ? row.failures / n : null;
    if (m.kind === 'lat' && !(isNum(n) && n > 0)) return null;
    return isNum(row[m.key]) ? row[m.key] : null;
  }

  function cmpJudge(kind, base, cur, tol) {
    if (kind === 'info') return 'ok';
    const worse = kind === 'rps' ? base - cur : cur - base;
    let limit = tol * Math.abs(base);
    if (kind === 'err' && limit < tol / 100) limit = tol / 100;
    const slack = limit * 1e-9 + 1e-12;
    if (worse > limit + slack) return 'REGRESSION';
    if (-worse > limit + slack) return 'improved';
    return 'ok';
  }

  function cmpChange(kind, base, cur) {
    if (base === null || cur === null) return '-';
    if (base === 0) return cur === 0 ? '+0.0%' : kind === 'err' ? `${cur - base >= 0 ? '+' : ''}${((cur - base) * 100).toFixed(2)}pp` : '-';
    const pct = (cur - base) / Math.abs(base) * 100;
    return `${pct >= 0 ? '+' : ''}${pct.toFixed(Math.abs(pct) < 10000 ? 1 : 0)}%`;
  }

  /* [{label, method, name, base row|null, new row|null}] */
  function cmpRows(a, b) {
    const key = (r) => `${r.method ?? ''} ${r.name ?? ''}`;
    const agg = (run) => ({ method: '', name: 'Aggregated', requests: run.requests, failures: run.failures,
      p50: run.p50, p95: run.p95, p99: run.p99, rps: run.rps });
    const out = [{ label: 'Aggregated', base: agg(a), cur: agg(b) }];
    const an = Array.isArray(a.requests_by_name) ? a.requests_by_name : [], bn = Array.isArray(b.requests_by_name) ? b.requests_by_name : [];
    const bmap = new Map(bn.map((r) => [key(r), r])), seen = new Set();
    for (const r of an) { out.push({ label: `${r.method ?? ''} ${r.name ?? ''}`.trim(), base: r, cur: bmap.get(key(r)) || null }); seen.add(key(r)); }
    for (const r of bn) if (!seen.has(key(r))) out.push({ label: `${r.method ?? ''} ${r.name ?? ''}`.trim(), base: null, cur: r });
    return out;
  }

  /* Exposed for tests: the comparison of two GET /api/history/ID answers. */
  function compareRuns(a, b, tol = CMP_TOL) {
    const lines = [];
    for (const row of cmpRows(a, b)) {
      for (const m of CMP_METRICS) {
        const bv = cmpValue(row.base, m), nv = cmpValue(row.cur, m);
        if (bv === null && nv === null) continue;
        const verdict = bv !== null && nv !== null ? cmpJudge(m.kind, bv, nv, tol) : nv !== null ? 'new' : 'removed';
        lines.push({ name: row.label, metric: m.key, base: bv, value: nv, change: cmpChange(m.kind, bv, nv), verdict, m });
      }
    }
    return lines;
  }

  let cmpShown = '';
  async function renderCompare() {
    const card = $('compare-card');
    if (picked.length !== 2) { card.hidden = true; cmpShown = ''; return; }
    const key = picked.slice().sort((x, y) => x - y).join(',');
    if (key === cmpShown && !card.hidden) return;
    try {
      const [x, y] = await Promise.all(picked.map((id) => api('GET', `/api/history/${encodeURIComponent(id)}`)));
      const [a, b] = (x.start ?? 0) <= (y.start ?? 0) ? [x, y] : [y, x];     /* the older is the base */
      if (picked.length !== 2 || !picked.includes(a.id) || !picked.includes(b.id)) return;
      const lines = compareRuns(a, b);
      const frag = document.createDocumentFragment();
      for (const l of lines) {
        const bad = l.verdict === 'REGRESSION';
        const tr = el('tr', { 'data-name': l.name, 'data-metric': l.metric, 'data-verdict': l.verdict, class: bad ? 'regressed' : null });
        tr.append(td(l.name, 'name', l.name), td(l.metric, 'method'), td(l.base === null ? '-' : l.m.fmt(l.base), 'num'),
          td(l.value === null ? '-' : l.m.fmt(l.value), 'num'), td(l.change, 'num'),
          td(l.verdict, bad ? 'fail' : l.verdict === 'improved' ? 'ok' : ''));
        frag.appendChild(tr);
      }
      $('compare').tBodies[0].replaceChildren(frag);
      $('compare-base').textContent = `Base #${a.id}`;
      $('compare-new').textContent = `New #${b.id}`;
      const n = lines.filter((l) => l.verdict === 'REGRESSION').length, imp = lines.filter((l) => l.verdict === 'improved').length;
      $('compare-title').textContent = `Run #${a.id} (base) and run #${b.id} side by side`;
      $('compare-summary').textContent = `${fmtStamp(a.start)} and ${fmtStamp(b.start)}: ${n} regression${n === 1 ? '' : 's'}, ` +
        `${imp} improvement${imp === 1 ? '' : 's'} (tolerance ${CMP_TOL * 100}%, as stampede compare)`;
      card.hidden = false;
      card.dataset.ids = `${a.id},${b.id}`;
      cmpShown = key;
      boxError('runs-error', '');
    } catch (e) {
      boxError('runs-error', 'Comparison: ' + errText(e));
    }
  }

  function initRuns() {
    $('runs-filter').addEventListener('submit', (ev) => { ev.preventDefault(); namesFor = null; loadRuns(); });
    $('runs-scenario').addEventListener('change', () => { namesFor = null; loadRuns(); });
    $('trend-name').addEventListener('change', loadTrends);
    $('runs').addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-action="baseline"]');
      if (btn) makeBaseline(Number(btn.dataset.id), btn);
    });
    $('runs').addEventListener('change', (ev) => {
      const box = ev.target.closest('input.pick');
      if (!box) return;
      const id = Number(box.dataset.id);
      picked = picked.filter((x) => x !== id);
      if (box.checked) picked.push(id);
      while (picked.length > 2) picked.shift();       /* a third tick replaces the first */
      for (const b of $('runs').querySelectorAll('input.pick')) b.checked = picked.includes(Number(b.dataset.id));
      renderCompare();
    });
    window.addEventListener('resize', resizeTrends);
  }

  /* ---- Schedules page: GET/POST/DELETE /api/schedules ------------------------------- */

  let schedLoading = 0;
  /* the browser's zone, which the "local" times are in */
  const LOCAL_ZONE = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local'; } catch (e) { return 'local'; } })();

  async function loadSchedules() {
    const mine = ++schedLoading;
    try {
      await knowLocal();
      $('sched-add-card').hidden = localRun;
      $('sched-readonly').hidden = !localRun;
      const j = await api('GET', '/api/schedules');
      if (mine !== schedLoading) return;
      boxError('sched-error', '');
      renderSchedules(j && Array.isArray(j.schedules) ? j.schedules : []);
    } catch (e) {
      if (mine !== schedLoading) return;
      boxError('sched-error', errText(e));
    }
  }

  function renderSchedules(list) {
    const frag = document.createDocumentFragment();
    if (list.length === 0) frag.appendChild(emptyRow(10, 'No schedule yet: add one below, or with `stampede schedule add`.'));
    for (const s of list) {
      const tr = el('tr', { 'data-id': s.id, 'data-cron': s.cron ?? '', 'data-tz': s.tz ?? '' });
      const next = td('', 'next nowrap');
      next.append(el('div', { class: 'local' }, `${fmtStamp(s.next)} ${LOCAL_ZONE}`), el('div', { class: 'utc muted small' }, fmtStamp(s.next, true)));
      const evs = td('', 'events');
      const events = Array.isArray(s.events) ? s.events.slice(0, 3) : [];
      if (events.length === 0) evs.textContent = '\u2013';
      for (const e of events) {
        evs.appendChild(el('div', { class: `event ev-${String(e.event ?? '').replace(/[^a-z]/g, '')}`, title: e.detail ?? '' },
          `${fmtStamp(e.at)} ${e.event ?? ''}${e.detail ? ': ' + e.detail : ''}`));
      }
      const last = td(s.last_status ? String(s.last_status) : '\u2013', 'status', isNum(s.last_start) ? `started ${fmtStamp(s.last_start)}` : '');
      const rm = td('', 'actions');
      const b = el('button', { type: 'button', class: 'btn btn-small btn-danger-outline', 'data-action': 'remove', 'data-id': s.id,
        title: `remove schedule ${s.id}` }, 'Remove');
      b.hidden = localRun;
      rm.appendChild(b);
      tr.append(td(s.id, 'num mono'), td(s.cron ?? '', 'mono'), td(s.tz || 'UTC'), td(s.scenario ?? '', 'name', s.scenario ?? ''),
        next, td(fmtInt(s.runs), 'num'), td(fmtInt(s.skipped), 'num' + (s.skipped > 0 ? ' warn' : '')), last, evs, rm);
      frag.appendChild(tr);
    }
    $('schedules').tBodies[0].replaceChildren(frag);
  }

  async function addSchedule(ev) {
    ev.preventDefault();
    boxError('sched-add-error', '');
    $('sched-add-ok').hidden = true;
    const cron = $('sched-cron').value.trim(), tz = $('sched-tz').value.trim(), yaml = $('sched-yaml').value;
    if (!cron) { boxError('sched-add-error', 'Cron: write five fields, e.g. "0 22 * * *" (every day at 22:00).'); return; }
    if (!yaml.trim()) { boxError('sched-add-error', 'The scenario is empty: paste its YAML.'); return; }
    const users = readCount('sched-users', false);
    if (users === null) { boxError('sched-add-error', 'Users must be a whole number (empty: as the scenario says).'); return; }
    const rate = readCount('sched-rate', true);
    if (rate === null) { boxError('sched-add-error', 'Spawn rate must be a number of users per second.'); return; }
    const durationMs = parseDurationMs($('sched-duration').value);
    if (durationMs === null) { boxError('sched-add-error', 'Duration: use e.g. 90, 90s, 5m or 1h30m (empty: as the scenario says).'); return; }
    const labels = parseLabels($('sched-labels').value);
    if (typeof labels === 'string') { boxError('sched-add-error', 'Labels: ' + labels); return; }
    const run = runBody(yaml, 'schedule.yaml', users, rate, durationMs, 1, $('sched-host').value.trim());
    if (labels.length) run.labels = Object.fromEntries(labels);
    const body = { cron, run };
    if (tz) body.tz = tz;
    const btn = $('sched-add');
    btn.disabled = true;
    try {
      const r = await api('POST', '/api/schedules', body);
      const ok = $('sched-add-ok');
      ok.textContent = `Schedule ${r && r.id} added; next start ${r && isNum(r.next) ? `${fmtStamp(r.next)} (${fmtStamp(r.next, true)})` : 'unknown'}.`;
      ok.hidden = false;
      await loadSchedules();
    } catch (e) {
      boxError('sched-add-error', errText(e));
    } finally {
      btn.disabled = false;
    }
  }

  async function removeSchedule(id, btn) {
    btn.disabled = true;
    try {
      await api('DELETE', `/api/schedules/${encodeURIComponent(id)}`);
      boxError('sched-error', '');
    } catch (e) {
      boxError('sched-error', `Schedule ${id} was not removed: ${errText(e)}`);
    }
    await loadSchedules();
  }

  function initSchedules() {
    $('sched-form').addEventListener('submit', addSchedule);
    $('schedules').addEventListener('click', (ev) => {
      const btn = ev.target.closest('button[data-action="remove"]');
      if (btn) removeSchedule(Number(btn.dataset.id), btn);
    });
    $('sched-duration').addEventListener('input', () => {
      $('sched-duration').classList.toggle('invalid', parseDurationMs($('sched-duration').value) === null);
    });
  }

  function initPages() {
    initRuns();
    initSchedules();
    window.addEventListener('hashchange', () => showPage(location.hash.slice(1)));
    showPage(location.hash.slice(1));
  }

  /* ---- boot ------------------------------------------------------------------------ */

  function boot() {
    initForm();
    initSorting();
    initCharts();
    initPages();
    pollSoon();
  }

  /* exposed for tests in a browser console; nothing in the page depends on it */
  window.stampede = { parseDurationMs, runPathId, fmtClock, csvPaths, poll: pollSoon, compareRuns,
                      points: () => ({ run_id: series.runId, t: series.t.slice() }) };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
