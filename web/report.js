/* Stampede offline report renderer (master/report.h). Reads the run's data from the
 * JSON script element with id "stampede-data" ({summary, history, schedule}) and builds
 * the page inside #report: run metadata, thresholds, three uPlot charts over time, the
 * per-name table (sortable), WebSocket, errors, workers and, when present, the
 * coordinated-omission corrected latencies. Plain DOM, no framework; uPlot is the
 * global the inlined uPlot.iife defines. Text from the data only ever goes through
 * textContent, never innerHTML. The open model (a "schedule" in the data, issue 11) adds
 * the schedule's figures and the verdict's notes to the run card, the iterations per
 * profile, a service p95 column, and three charts: planned vs achieved rate (with the
 * generator-limited intervals marked), backlog and dropped, latency beside service. The
 * monitor (issue 13, "monitor" in the data) adds a chart per scraped figure after those,
 * on the same clock and cursor, and a section with summary.json's monitor tables. */
(function () {
  "use strict";

  // ---- formatting -----------------------------------------------------------------

  function isNum(v) { return typeof v === "number" && isFinite(v); }

  function fmtInt(v) {
    return isNum(v) ? Math.round(v).toLocaleString("en-US") : "\u2014";
  }

  // Milliseconds with about three significant digits.
  function fmtMs(v) {
    if (!isNum(v)) return "\u2014";
    var a = Math.abs(v);
    if (a >= 1000) return Math.round(v).toLocaleString("en-US");
    if (a >= 100) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 1) return v.toFixed(2);
    return v.toFixed(3);
  }

  function fmtRate(v) {
    if (!isNum(v)) return "\u2014";
    if (Math.abs(v) >= 100) return Math.round(v).toLocaleString("en-US");
    return v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
  }

  function fmtPct(v) {
    if (!isNum(v)) return "\u2014";
    var p = v * 100;
    if (p === 0) return "0%";
    if (p < 0.01) return "<0.01%";
    return (p < 10 ? p.toFixed(2) : p.toFixed(1)) + "%";
  }

  function fmtBytes(v) {
    if (!isNum(v)) return "\u2014";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(v) >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (i === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)) + " " + u[i];
  }

  // "42.3 s", "12 m 05 s", "3 h 02 m 10 s".
  function fmtDuration(s) {
    if (!isNum(s)) return "\u2014";
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
    var t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return h > 0 ? h + " h " + two(m) + " m " + two(sec) + " s" : m + " m " + two(sec) + " s";
  }

  // Elapsed seconds as m:ss or h:mm:ss, for the chart axes and legends.
  function fmtElapsed(s) {
    if (!isNum(s)) return "\u2014";
    var t = Math.round(s), neg = t < 0;
    t = Math.abs(t);
    var h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return (neg ? "-" : "") + (h > 0 ? h + ":" + two(m) + ":" + two(sec) : m + ":" + two(sec));
  }

  function fmtTime(iso) {
    if (typeof iso !== "string" || !iso) return "\u2014";
    return iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
  }

  // ---- DOM helpers ----------------------------------------------------------------

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
        if (k === "text") e.textContent = attrs[k];
        else if (k === "class") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      }
    }
    (children || []).forEach(function (c) {
      if (c == null) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function section(title, id) {
    var s = el("section", { class: "card", id: id });
    s.appendChild(el("h2", { text: title }));
    return s;
  }

  function empty(text) { return el("p", { class: "muted rp-empty", text: text }); }

  function badge(ok) {
    return el("span", { class: "badge " + (ok ? "ok" : "fail"), text: ok ? "pass" : "fail" });
  }

  function arr(v) { return Array.isArray(v) ? v : []; }
  function obj(v) { return v && typeof v === "object" && !Array.isArray(v) ? v : {}; }

  /* A table from column specs {label, key(row) -> sort value, fmt(row) -> text or node,
   * txt (left-aligned), cls(row)}. opts: id, sortable, rowAttrs(row), foot (a row). */
  function table(cols, rows, opts) {
    opts = opts || {};
    var t = el("table", { class: "data" + (opts.sortable ? " sortable" : ""), id: opts.id });
    var thead = el("thead"), hr = el("tr");
    cols.forEach(function (c, i) {
      var th = el("th", { class: c.txt ? null : "num", text: c.label, scope: "col",
                          title: opts.sortable ? "Sort by " + (c.label || "this column") : null,
                          tabindex: opts.sortable ? "0" : null });
      if (opts.sortable) {
        th.addEventListener("click", function () { sortBy(t, cols, i, th); });
        th.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortBy(t, cols, i, th); }
        });
      }
      hr.appendChild(th);
    });
    thead.appendChild(hr);
    t.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (r) { tbody.appendChild(row(cols, r, opts.rowAttrs ? opts.rowAttrs(r) : null)); });
    t.appendChild(tbody);
    if (opts.foot) {
      var tf = el("tfoot");
      tf.appendChild(row(cols, opts.foot, null));
      t.appendChild(tf);
    }
    t._rows = rows;
    t._attrs = opts.rowAttrs;
    return el("div", { class: "table-wrap" }, [t]);
  }

  function row(cols, r, attrs) {
    var tr = el("tr", attrs);
    cols.forEach(function (c) {
      var v = c.fmt(r), cls = (c.txt ? "" : "num") + (c.cls ? " " + (c.cls(r) || "") : "");
      var td = el("td", { class: cls.trim() || null });
      if (v instanceof Node) td.appendChild(v); else td.textContent = v;
      tr.appendChild(td);
    });
    tr._data = r;
    return tr;
  }

  // Click on a header: ascending first for text columns, descending first for numbers.
  function sortBy(t, cols, i, th) {
    var c = cols[i], dir;
    if (th.classList.contains("sort-asc")) dir = -1;
    else if (th.classList.contains("sort-desc")) dir = 1;
    else dir = c.txt ? 1 : -1;
    Array.prototype.forEach.call(t.tHead.rows[0].cells, function (h) { h.classList.remove("sort-asc", "sort-desc"); });
    th.classList.add(dir > 0 ? "sort-asc" : "sort-desc");
    var tbody = t.tBodies[0];
    var trs = Array.prototype.slice.call(tbody.rows);
    trs.forEach(function (tr, k) { tr._k = k; });
    trs.sort(function (a, b) {
      var x = c.key(a._data), y = c.key(b._data), r;
      if (typeof x === "string" || typeof y === "string") r = String(x).localeCompare(String(y));
      else {
        var xn = isNum(x), yn = isNum(y);
        r = xn && yn ? x - y : xn ? 1 : yn ? -1 : 0;
      }
      return r !== 0 ? r * dir : a._k - b._k;
    });
    trs.forEach(function (tr) { tbody.appendChild(tr); });
  }

  function lat(o, k) { var v = obj(o)[k]; return isNum(v) ? v : null; }

  // ---- sections -------------------------------------------------------------------

  function header(S) {
    var ths = arr(S.thresholds), failed = ths.filter(function (t) { return !t.ok; }).length;
    var verdict;
    if (ths.length === 0) verdict = el("span", { class: "badge rp-verdict", text: "no thresholds" });
    else verdict = el("span", { class: "badge rp-verdict " + (failed ? "fail" : "ok"),
                                text: failed ? failed + " of " + ths.length + " thresholds failed"
                                             : "all " + ths.length + " thresholds passed" });
    var sub = [S.target, fmtTime(S.start)].filter(function (x) { return x && x !== "\u2014"; }).join("  \u00b7  ");
    var V = obj(S.verdict), lim = V.generator_limited_intervals, gen = null;
    if (isNum(lim) && lim > 0)      // never reported clean (master/results.h "verdict")
      gen = el("span", { class: "badge fail rp-verdict", id: "generator-verdict",
                         text: "not clean: generator limited in " + fmtInt(lim) + " interval" + (lim === 1 ? "" : "s") });
    else if (isNum(V.workers_flagged) && V.workers_flagged > 0)   // issue 13: flagged workers
      gen = el("span", { class: "badge fail rp-verdict", id: "generator-verdict",
                         text: "not clean: " + fmtInt(V.workers_flagged) + " worker" + (V.workers_flagged === 1 ? "" : "s") + " flagged" });
    return el("header", null, [
      el("div", { class: "brand", text: "Stampede" }),
      el("h1", { text: "Run report" + (S.scenario ? ": " + S.scenario : "") }),
      el("span", { class: "muted rp-sub", text: sub }),
      verdict, gen
    ]);
  }

  function metadata(S) {
    var s = section("Run", "run"), T = obj(S.totals), L = obj(T.latency_ms);
    var items = [
      ["Scenario", S.scenario || "\u2014"],
      ["File", S.file || "\u2014"],
      ["Target", S.target || "\u2014"],
      ["Start", fmtTime(S.start)],
      ["End", fmtTime(S.end)],
      ["Duration", fmtDuration(S.duration_s)],
      ["Stop reason", S.stop_reason || "\u2014"],
      ["Peak users", fmtInt(S.peak_users)],
      ["Requests", fmtInt(T.requests)],
      ["Failures", fmtInt(T.failures) + (isNum(T.error_rate) ? " (" + fmtPct(T.error_rate) + ")" : "")],
      ["Throughput", fmtRate(T.rps) + " req/s"],
      ["Median", fmtMs(L.p50) + " ms"],
      ["p95", fmtMs(L.p95) + " ms"],
      ["p99", fmtMs(L.p99) + " ms"],
      ["Max", fmtMs(L.max) + " ms"],
      ["Received", fmtBytes(T.bytes)],
      ["Workers", fmtInt(arr(S.workers).length)]
    ];
    if (isNum(T.cancelled) && T.cancelled > 0) items.push(["Cancelled", fmtInt(T.cancelled)]);
    var SC = obj(S.schedule), open = SC.model === "open";
    if (open) {
      var SV = obj(T.service_ms), LG = obj(SC.lag_ms);
      items.push(["Model", "open (arrival rate)"], ["Rate planned", fmtRate(SC.rate_planned) + " it/s"],
                 ["Rate achieved", fmtRate(SC.rate_achieved) + " it/s"], ["Intended", fmtInt(SC.intended)],
                 ["Started", fmtInt(SC.started)], ["Dropped", fmtInt(SC.dropped)],
                 ["Backlog max", fmtInt(SC.backlog_max)], ["Lag p99", fmtMs(LG.p99) + " ms"],
                 ["Service p95", fmtMs(SV.p95) + " ms"]);
    }
    var dl = el("dl", { class: "rp-meta" });
    items.forEach(function (it) { dl.appendChild(el("div", null, [el("dt", { text: it[0] }), el("dd", { text: it[1] })])); });
    s.appendChild(dl);
    if (S.stop_reason && S.stop_reason !== "finished")
      s.appendChild(el("p", { class: "notice warn", text: "The run did not finish normally: " + S.stop_reason + "." }));
    arr(obj(S.verdict).notes).forEach(function (n) {   // the summary's verdict, as written
      if (typeof n === "string" && !/^the run did not finish/.test(n))
        s.appendChild(el("p", { class: "notice warn rp-verdict-note", text: n + "." }));
    });
    if (open)
      s.appendChild(el("p", { class: "rp-note", text: "Open model: latency is measured from each arrival's intended start, service from the actual send." }));
    if (isNum(S.missing_requests_max) && S.missing_requests_max > 0)
      s.appendChild(el("p", { class: "notice fail", text: "Workers were lost during the run: up to " +
        fmtInt(S.missing_requests_max) + " completed requests may be missing from these results." }));
    if (isNum(S.names_folded) && S.names_folded > 0)
      s.appendChild(el("p", { class: "notice warn", text: fmtInt(S.names_folded) +
        " request names beyond the name cap were folded into one overflow entry." }));
    return s;
  }

  /* A threshold's measured value in its unit, told by the metric word before the
   * operator (master/thresholds.h: ms for latencies, a fraction for error_rate). */
  function fmtThresholdValue(t) {
    var v = t.value;
    if (!isNum(v)) return "no data";
    var mon = /^\s*monitor\s+[\w-]+\.(\w+)(\s+growth)?/.exec(String(t.expr || ""));   // issue 13
    if (mon) return String(+v.toPrecision(6)) + (mon[2] || mon[1] === "cpu" || mon[1] === "memory" ? "%" : "");
    var m = /([a-z_0-9.]+)\s*(<=|>=|<|>)/i.exec(String(t.expr || "")), w = m ? m[1].toLowerCase() : "";
    if (/^(p\d+(\.\d+)?|min|max|mean|avg)$/.test(w)) return fmtMs(v) + " ms";
    if (w === "error_rate") return fmtPct(v);
    if (w === "rps") return fmtRate(v) + " req/s";
    if (w === "rate") return fmtRate(v) + " it/s";
    return String(+v.toPrecision(6));
  }

  function thresholds(S) {
    var s = section("Thresholds", "thresholds"), ths = arr(S.thresholds);
    if (!ths.length) { s.appendChild(empty("No thresholds in this scenario.")); return s; }
    s.appendChild(table([
      { label: "Threshold", txt: true, key: function (t) { return String(t.expr || ""); },
        fmt: function (t) { return String(t.expr || ""); }, cls: function () { return "name"; } },
      { label: "Measured", key: function (t) { return t.value; },
        fmt: function (t) { return isNum(t.value) || !t.note ? fmtThresholdValue(t) : "no data: " + t.note; } },
      { label: "Result", key: function (t) { return t.ok ? 1 : 0; },
        fmt: function (t) { return badge(!!t.ok); } }
    ], ths, { id: "thresholds-table",
              rowAttrs: function (t) { return { "data-ok": t.ok ? "true" : "false" }; } }));
    return s;
  }

  var COLORS = { blue: "#2563eb", green: "#16a34a", red: "#dc2626", amber: "#d97706", purple: "#7c3aed" };

  /* The open model's charts from schedule.csv's columns (SCH) and, for latency beside
   * service, the history's percentiles when both have the same rows. Limited intervals
   * are marked as red points on the achieved rate. */
  function scheduleSpecs(H, SCH) {
    var t = arr(SCH.t), lim = arr(SCH.limited), ach = arr(SCH.achieved);
    var marks = t.map(function (x, i) { return lim[i] === 1 ? (isNum(ach[i]) ? ach[i] : 0) : null; });
    var same = arr(H.t).length === t.length;
    function col(src, k) { var a = arr(src[k]); return a.length === t.length ? a : t.map(function () { return null; }); }
    return [
      { id: "rate", title: "Planned vs achieved rate (iterations/s)", t: t,
        cols: [col(SCH, "planned"), ach.length === t.length ? ach : col(SCH, "achieved"), marks],
        series: [{ label: "Planned", stroke: COLORS.blue, dash: [6, 4], fmt: fmtRate },
                 { label: "Achieved", stroke: COLORS.green, fill: "rgba(22,163,74,0.08)", fmt: fmtRate },
                 { label: "Generator-limited", stroke: COLORS.red, width: 0, points: true,
                   fmt: function () { return "limited"; } }] },
      { id: "backlog", title: "Backlog and dropped arrivals, per interval", t: t,
        cols: [col(SCH, "backlog"), col(SCH, "dropped")],
        series: [{ label: "Backlog max", stroke: COLORS.amber, fmt: fmtInt },
                 { label: "Dropped", stroke: COLORS.red, fmt: fmtInt }] },
      { id: "service", title: "Latency (from intended start) beside service (from send), ms", t: t,
        cols: [same ? col(H, "p95") : col(SCH, "none"), same ? col(H, "p99") : col(SCH, "none"),
               col(SCH, "s95"), col(SCH, "s99"), col(SCH, "lag_p99")],
        series: [{ label: "Latency p95", stroke: COLORS.amber, fmt: fmtMs },
                 { label: "Latency p99", stroke: COLORS.red, fmt: fmtMs },
                 { label: "Service p95", stroke: COLORS.blue, dash: [6, 4], fmt: fmtMs },
                 { label: "Service p99", stroke: COLORS.purple, dash: [6, 4], fmt: fmtMs },
                 { label: "Lag p99", stroke: "#6b7280", dash: [2, 3], fmt: fmtMs }] }
    ];
  }

  /* The monitor (issue 13): one small chart per figure of monitor.csv (D.monitor:
   * [{target, metric, t, v}], t on the history's clock), in the "Over time" charts so the
   * cursor runs beside the latency. cpu and memory are percentages; the rest as scraped
   * (rates per second for counters). */
  function fmtMon(metric) {
    if (metric === "cpu" || metric === "memory") return function (v) { return fmtPct(v / 100); };
    if (/^(network|disk)_/.test(metric)) return function (v) { return fmtBytes(v) + "/s"; };
    return function (v) { return Math.abs(v) >= 1000 ? fmtInt(Math.round(v)) : String(Math.round(v * 100) / 100); };
  }

  function monitorSpecs(MON) {
    var palette = [COLORS.purple, COLORS.blue, COLORS.green, COLORS.amber, COLORS.red];
    return arr(MON).filter(function (m) { return m && arr(m.t).length && m.metric !== "up"; })
      .map(function (m, i) {
        var title = String(m.target) + " \u00b7 " + String(m.metric) +
          (m.metric === "cpu" || m.metric === "memory" ? " (%)" : "");
        return { id: "mon-" + m.target + "-" + m.metric, title: title, t: arr(m.t), cols: [arr(m.v)], height: 170,
                 series: [{ label: String(m.metric), stroke: palette[i % palette.length], fmt: fmtMon(m.metric) }] };
      });
  }

  function monitorTable(S) {
    var ms = arr(S.monitor), tg = arr(S.monitor_targets);
    if (!ms.length && !tg.length) return null;
    var s = section("System under test (monitor)", "monitor");
    function num(k, m) { return function (r) { var v = r[k]; return isNum(v) ? fmtMon(r.metric)(v) : "\u2014"; }; }
    s.appendChild(table([
      { label: "Target", txt: true, key: function (r) { return String(r.target || ""); }, fmt: function (r) { return String(r.target || ""); },
        cls: function () { return "name"; } },
      { label: "Metric", txt: true, key: function (r) { return String(r.metric || ""); }, fmt: function (r) { return String(r.metric || ""); } },
      { label: "First", key: function (r) { return r.first; }, fmt: num("first") },
      { label: "Last", key: function (r) { return r.last; }, fmt: num("last") },
      { label: "Min", key: function (r) { return r.min; }, fmt: num("min") },
      { label: "Mean", key: function (r) { return r.mean; }, fmt: num("mean") },
      { label: "Max", key: function (r) { return r.max; }, fmt: num("max") },
      { label: "Growth", key: function (r) { return r.growth_pct; },
        fmt: function (r) { return isNum(r.growth_pct) ? (r.growth_pct >= 0 ? "+" : "") + r.growth_pct.toFixed(1) + "%" : "\u2014"; } }
    ], ms, { id: "monitor-table", sortable: true }));
    s.appendChild(table([
      { label: "Target", txt: true, key: function (r) { return String(r.target || ""); }, fmt: function (r) { return String(r.target || ""); },
        cls: function () { return "name"; } },
      { label: "URL", txt: true, key: function (r) { return String(r.url || ""); }, fmt: function (r) { return String(r.url || ""); } },
      { label: "Scrapes", key: function (r) { return r.scrapes; }, fmt: function (r) { return fmtInt(r.scrapes); } },
      { label: "Failed", key: function (r) { return r.failures; }, fmt: function (r) { return fmtInt(r.failures); } },
      { label: "Last error", txt: true, key: function (r) { return String(r.last_error || ""); },
        fmt: function (r) { return String(r.last_error || "\u2014"); } }
    ], tg, { id: "monitor-targets-table", sortable: true }));
    s.appendChild(el("p", { class: "rp-note", text: "A failed scrape is counted, never fatal by itself; the charts are under \u201cOver time\u201d." }));
    return s;
  }

  /* A long run (24 h at 1 s: 86,400 rows) is drawn from at most SCREEN_POINTS points:
   * every k consecutive rows become one, the files keep every row. Rates are averaged,
   * counts added, and users, backlog, percentiles, lag and the limited flag keep the
   * largest of the k (a percentile of the union cannot be computed from the rows'; the
   * larger never hides a slow stretch); t is the last row's. */
  var SCREEN_POINTS = 3600;
  var HIST_HOW = { users: "max", rps: "mean", fps: "mean", p50: "max", p95: "max", p99: "max" };
  var SCHED_HOW = { planned: "mean", achieved: "mean", backlog: "max", dropped: "sum", lag_p99: "max",
                    s50: "max", s95: "max", s99: "max", limited: "max" };

  function screenSeries(src, how) {
    var t = arr(src.t), n = t.length, k = Math.ceil(n / SCREEN_POINTS);
    if (k <= 1) return { cols: src, k: 1, n: n };
    var out = { t: [] };
    Object.keys(how).forEach(function (key) { out[key] = []; });
    for (var i = 0; i < n; i += k) {
      var end = Math.min(n, i + k);
      out.t.push(t[end - 1]);
      Object.keys(how).forEach(function (key) {
        var a = arr(src[key]), acc = null, cnt = 0;
        if (a.length !== n) { out[key].push(null); return; }
        for (var j = i; j < end; j++) {
          if (!isNum(a[j])) continue;
          acc = acc === null ? a[j] : how[key] === "max" ? Math.max(acc, a[j]) : acc + a[j];
          cnt++;
        }
        out[key].push(acc !== null && how[key] === "mean" ? acc / cnt : acc);
      });
    }
    return { cols: out, k: k, n: n };
  }

  function charts(H, S, SCH, MON) {
    var s = section("Over time", "charts"), box = el("div", { class: "rp-charts" });
    s.appendChild(box);
    var scr = screenSeries(obj(H), HIST_HOW);
    H = scr.cols;
    if (SCH && typeof SCH === "object") SCH = screenSeries(SCH, SCHED_HOW).cols;
    var t = arr(H.t), has = t.length > 0 && typeof uPlot === "function";
    var specs = [
      { id: "users", title: "Users", unit: "",
        series: [{ label: "Users", key: "users", stroke: COLORS.blue, fill: "rgba(37,99,235,0.10)", fmt: fmtInt }] },
      { id: "rps", title: "Requests and failures per second", unit: "/s",
        series: [{ label: "Requests/s", key: "rps", stroke: COLORS.green, fill: "rgba(22,163,74,0.08)", fmt: fmtRate },
                 { label: "Failures/s", key: "fps", stroke: COLORS.red, fmt: fmtRate }] },
      { id: "latency", title: "Response time (ms), per interval", unit: "ms",
        series: [{ label: "p50", key: "p50", stroke: COLORS.blue, fmt: fmtMs },
                 { label: "p95", key: "p95", stroke: COLORS.amber, fmt: fmtMs },
                 { label: "p99", key: "p99", stroke: COLORS.red, fmt: fmtMs }] }
    ];
    var plots = [];
    specs.forEach(function (sp) {
      var holder = el("div", { class: "chart", "data-chart": sp.id });
      box.appendChild(el("div", { class: "rp-chartcard" }, [el("h3", { text: sp.title }), holder]));
      if (!has) {
        holder.appendChild(empty(t.length ? "Charts unavailable (uPlot missing)." :
                                 "No history: stats_history.csv was missing or empty."));
        return;
      }
      var data = [t];
      sp.series.forEach(function (x) {
        var a = arr(H[x.key]);
        data.push(a.length === t.length ? a : t.map(function () { return null; }));
      });
      plots.push({ holder: holder, spec: sp, data: data });
    });
    SCH = SCH && typeof SCH === "object" ? SCH : null;
    if (SCH && arr(SCH.t).length && typeof uPlot === "function") {
      scheduleSpecs(H, SCH).forEach(function (sp) {
        var holder = el("div", { class: "chart", "data-chart": sp.id });
        box.appendChild(el("div", { class: "rp-chartcard" }, [el("h3", { text: sp.title }), holder]));
        plots.push({ holder: holder, spec: sp, data: [sp.t].concat(sp.cols) });
      });
      var nl = arr(SCH.limited).filter(function (x) { return x === 1; }).length;
      s.appendChild(el("p", { class: "rp-note", id: "limited-note", text: nl
        ? nl + " interval" + (nl === 1 ? " was" : "s were") + " generator-limited (red points): lag p99 above 10 ms or an engine thread above 90% CPU."
        : "The generator kept the schedule in every interval." }));
    }
    if (typeof uPlot === "function") {
      monitorSpecs(MON).forEach(function (sp) {
        var holder = el("div", { class: "chart", "data-chart": sp.id });
        box.appendChild(el("div", { class: "rp-chartcard" }, [el("h3", { text: sp.title }), holder]));
        plots.push({ holder: holder, spec: sp, data: [sp.t].concat(sp.cols) });
      });
    }
    if (plots.length) {
      // uPlot measures its container, so draw once the section is in the document.
      setTimeout(function () { drawCharts(plots); }, 0);
    }
    if (has && S && isNum(S.duration_s))
      s.appendChild(el("p", { class: "rp-note", id: "charts-note", text: scr.k > 1
        ? "One point per " + scr.k + " intervals, drawn from the " + fmtInt(scr.n) + " rows of stats_history.csv (which keeps every interval): rates are their mean, users and latency percentiles their largest. Drag to zoom, double-click to reset."
        : "One point per interval; latency percentiles are the interval's own (not cumulative). Drag to zoom, double-click to reset." }));
    return s;
  }

  function chartWidth(holder) {
    var w = holder.clientWidth || 900;
    return Math.max(320, Math.min(w, 1060));
  }

  function drawCharts(plots) {
    var sync = uPlot.sync ? uPlot.sync("stampede") : null;
    plots.forEach(function (p) {
      var sp = p.spec;
      var opts = {
        width: chartWidth(p.holder),
        height: sp.height || 260,
        cursor: sync ? { sync: { key: sync.key } } : {},
        legend: { live: true },
        scales: { x: { time: false }, y: { range: function (u, min, max) {
          return [0, max > 0 ? max * 1.08 : 1];
        } } },
        axes: [
          { stroke: "#4b5563", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#d1d5db" },
            values: function (u, vals) { return vals.map(fmtElapsed); },
            incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400] },
          { stroke: "#4b5563", grid: { stroke: "#eef0f3", width: 1 }, ticks: { stroke: "#d1d5db" },
            size: 64 }
        ],
        series: [{ label: "Elapsed", value: function (u, v) { return fmtElapsed(v); } }].concat(
          sp.series.map(function (x) {
            return { label: x.label, stroke: x.stroke, fill: x.fill, dash: x.dash,
                     width: x.width != null ? x.width : 2, spanGaps: false,
                     points: x.points ? { show: true, size: 7, fill: x.stroke } : { show: false },
                     value: function (u, v) { return v == null ? "\u2014" : x.fmt(v); } };
          }))
      };
      p.plot = new uPlot(opts, p.data, p.holder);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      if (pending) return;
      pending = setTimeout(function () {
        pending = null;
        plots.forEach(function (p) { if (p.plot) p.plot.setSize({ width: chartWidth(p.holder), height: p.spec.height || 260 }); });
      }, 100);
    });
  }

  // One row per HTTP name and per WebSocket connection name.
  function names(S) {
    var s = section("Requests by name", "requests"), dur = S.duration_s;
    var rows = arr(S.requests).map(function (r) {
      var L = obj(r.latency_ms);
      return { type: String(r.method || ""), name: String(r.name || ""), ws: false,
               requests: r.requests, failures: r.failures, p50: lat(L, "p50"), p95: lat(L, "p95"),
               p99: lat(L, "p99"), max: lat(L, "max"), mean: lat(L, "mean"), s95: lat(r.service_ms, "p95"),
               rps: isNum(r.rps) ? r.rps : isNum(dur) && dur > 0 && isNum(r.requests) ? r.requests / dur : null };
    });
    arr(S.ws).forEach(function (w) {
      var L = obj(w.message_ms);
      rows.push({ type: "WS", name: String(w.name || ""), ws: true,
                  requests: w.expects, failures: w.expect_failures, p50: lat(L, "p50"), p95: lat(L, "p95"),
                  p99: lat(L, "p99"), max: lat(L, "max"), mean: lat(L, "mean"),
                  rps: isNum(dur) && dur > 0 && isNum(w.expects) ? w.expects / dur : null });
    });
    var T = obj(S.totals), TL = obj(T.latency_ms);
    var foot = { type: "", name: "Aggregated (HTTP)", requests: T.requests, failures: T.failures,
                 p50: lat(TL, "p50"), p95: lat(TL, "p95"), p99: lat(TL, "p99"), max: lat(TL, "max"),
                 mean: lat(TL, "mean"), rps: T.rps, s95: lat(T.service_ms, "p95") };
    function num(k, f) {
      return { label: k[1], key: function (r) { return r[k[0]]; }, fmt: function (r) { return f(r[k[0]]); } };
    }
    var cols = [
      { label: "Type", txt: true, key: function (r) { return r.type; },
        fmt: function (r) { return r.type ? el("span", { class: "rp-tag" + (r.ws ? " ws" : ""), text: r.type }) : ""; } },
      { label: "Name", txt: true, key: function (r) { return r.name; }, fmt: function (r) { return r.name; },
        cls: function () { return "name"; } },
      num(["requests", "Requests"], fmtInt),
      { label: "Failures", key: function (r) { return r.failures; }, fmt: function (r) { return fmtInt(r.failures); },
        cls: function (r) { return isNum(r.failures) && r.failures > 0 ? "fail" : ""; } },
      num(["p50", "Median (ms)"], fmtMs),
      num(["p95", "p95 (ms)"], fmtMs),
      num(["p99", "p99 (ms)"], fmtMs),
      num(["max", "Max (ms)"], fmtMs),
      num(["mean", "Avg (ms)"], fmtMs),
      num(["rps", "req/s"], fmtRate)
    ];
    if (obj(S.schedule).model === "open")     // service beside latency (open model only)
      cols.splice(6, 0, num(["s95", "Service p95 (ms)"], fmtMs));
    if (!rows.length) { s.appendChild(empty("No requests were recorded.")); return s; }
    s.appendChild(table(cols, rows, { id: "names", sortable: true, foot: foot,
      rowAttrs: function (r) { return { "data-name": r.name, "data-method": r.type }; } }));
    if (arr(S.ws).length)
      s.appendChild(el("p", { class: "rp-note", text: "WS rows count expects and receives as requests, with message latency; the Aggregated row covers HTTP only." }));
    return s;
  }

  // Whole iterations per profile (ITER rows; both models).
  function iterations(S) {
    var its = arr(S.iterations);
    if (!its.length) return null;
    var s = section("Iterations by profile", "iterations");
    function ms(k, label) {
      return { label: label, key: function (r) { return lat(r.latency_ms, k); }, fmt: function (r) { return fmtMs(lat(r.latency_ms, k)); } };
    }
    s.appendChild(table([
      { label: "Profile", txt: true, key: function (r) { return String(r.profile || ""); },
        fmt: function (r) { return String(r.profile || ""); }, cls: function () { return "name"; } },
      { label: "Iterations", key: function (r) { return r.count; }, fmt: function (r) { return fmtInt(r.count); } },
      { label: "Failed", key: function (r) { return r.failures; }, fmt: function (r) { return fmtInt(r.failures); },
        cls: function (r) { return isNum(r.failures) && r.failures > 0 ? "fail" : ""; } },
      ms("p50", "Median (ms)"), ms("p95", "p95 (ms)"), ms("p99", "p99 (ms)"), ms("max", "Max (ms)")
    ], its, { id: "iterations-table", sortable: true,
              rowAttrs: function (r) { return { "data-profile": String(r.profile || "") }; } }));
    s.appendChild(el("p", { class: "rp-note", text: obj(S.schedule).model === "open"
      ? "An iteration runs from its arrival's intended start to the end of the flow; failed: a step failed."
      : "An iteration runs from its start to the end of the flow; failed: a step failed." }));
    return s;
  }

  function websocket(S) {
    var ws = arr(S.ws);
    if (!ws.length) return null;
    var s = section("WebSocket", "websocket");
    function n(k, label, bad) {
      return { label: label, key: function (w) { return w[k]; }, fmt: function (w) { return fmtInt(w[k]); },
               cls: bad ? function (w) { return isNum(w[k]) && w[k] > 0 ? "fail" : ""; } : null };
    }
    s.appendChild(table([
      { label: "Name", txt: true, key: function (w) { return String(w.name || ""); },
        fmt: function (w) { return String(w.name || ""); }, cls: function () { return "name"; } },
      n("connects", "Connects"), n("connect_failures", "Connect fail.", true), n("reconnects", "Reconnects"),
      { label: "Messages out / in", key: function (w) { return w.messages_sent; },
        fmt: function (w) { return fmtInt(w.messages_sent) + " / " + fmtInt(w.messages_received); } },
      { label: "Bytes out / in", key: function (w) { return w.bytes_sent; },
        fmt: function (w) { return fmtBytes(w.bytes_sent) + " / " + fmtBytes(w.bytes_received); } },
      n("expects", "Expects"), n("expect_failures", "Expect fail.", true),
      n("out_of_order", "Out of order", true), n("fanout_messages", "Fan-out"),
      { label: "Closes", txt: true, key: function (w) { return Object.keys(obj(w.closes)).length; },
        fmt: function (w) {
          var c = obj(w.closes), k = Object.keys(c);
          return k.length ? k.map(function (code) { return code + "\u00d7" + fmtInt(c[code]); }).join(", ") : "\u2014";
        } }
    ], ws, { id: "ws", sortable: true,
             rowAttrs: function (w) { return { "data-ws": String(w.name || "") }; } }));

    var kinds = [["connect_ms", "connect"], ["message_ms", "message"], ["fanout_ms", "fan-out"],
                 ["reconnect_ms", "reconnect"], ["ping_ms", "ping"]];
    var lrows = [];
    ws.forEach(function (w) {
      kinds.forEach(function (k) {
        var L = obj(w[k[0]]);
        if (isNum(L.max) && L.max > 0) lrows.push({ name: String(w.name || ""), what: k[1], L: L });
      });
    });
    if (lrows.length) {
      s.appendChild(el("h3", { text: "WebSocket latency (ms)", style: "margin-top:14px" }));
      var lc = function (k, label) { return { label: label, key: function (r) { return r.L[k]; }, fmt: function (r) { return fmtMs(r.L[k]); } }; };
      s.appendChild(table([
        { label: "Name", txt: true, key: function (r) { return r.name; }, fmt: function (r) { return r.name; },
          cls: function () { return "name"; } },
        { label: "Latency of", txt: true, key: function (r) { return r.what; }, fmt: function (r) { return r.what; } },
        lc("min", "Min"), lc("p50", "Median"), lc("p90", "p90"), lc("p95", "p95"), lc("p99", "p99"),
        lc("max", "Max"), lc("mean", "Avg")
      ], lrows, { id: "ws-latency", sortable: true }));
    }
    return s;
  }

  function errors(S) {
    var s = section("Errors", "errors"), errs = arr(S.errors);
    if (!errs.length) { s.appendChild(empty("No errors.")); return s; }
    s.appendChild(table([
      { label: "Method", txt: true, key: function (e) { return String(e.method || ""); }, fmt: function (e) { return String(e.method || ""); },
        cls: function () { return "method"; } },
      { label: "Name", txt: true, key: function (e) { return String(e.name || ""); }, fmt: function (e) { return String(e.name || ""); },
        cls: function () { return "name"; } },
      { label: "Kind", txt: true, key: function (e) { return String(e.kind || ""); }, fmt: function (e) { return String(e.kind || ""); },
        cls: function () { return "kind"; } },
      { label: "Detail", txt: true, key: function (e) { return String(e.detail || ""); }, fmt: function (e) { return String(e.detail || ""); },
        cls: function () { return "detail"; } },
      { label: "Count", key: function (e) { return e.count; }, fmt: function (e) { return fmtInt(e.count); },
        cls: function () { return "fail"; } }
    ], errs, { id: "errors-table", sortable: true }));
    return s;
  }

  function workers(S) {
    var s = section("Workers", "workers"), ws = arr(S.workers);
    if (!ws.length) { s.appendChild(empty("No worker information.")); return s; }
    s.appendChild(table([
      { label: "Worker", txt: true, key: function (w) { return String(w.id || ""); }, fmt: function (w) { return String(w.id || ""); },
        cls: function () { return "name"; } },
      { label: "Host", txt: true, key: function (w) { return String(w.host || ""); }, fmt: function (w) { return String(w.host || ""); } },
      { label: "Threads", key: function (w) { return w.threads; }, fmt: function (w) { return fmtInt(w.threads); } },
      { label: "Requests", key: function (w) { return w.requests; }, fmt: function (w) { return fmtInt(w.requests); } },
      { label: "State", txt: true, key: function (w) { return String(w.state || ""); },
        fmt: function (w) { var st = String(w.state || "unknown"); return el("span", { class: "pill wstate-" + st.replace(/[^a-z]/gi, ""), text: st }); } },
      { label: "Left at", key: function (w) { return w.lost_at_s; },
        fmt: function (w) { return isNum(w.lost_at_s) ? fmtElapsed(w.lost_at_s) : "\u2014"; } },
      { label: "Missing (max)", key: function (w) { return w.missing_requests_max; },
        fmt: function (w) { return isNum(w.missing_requests_max) ? fmtInt(w.missing_requests_max) : "\u2014"; } }
    ], ws, { id: "workers-table", sortable: true }));
    health(s, ws);
    return s;
  }

  /* Issue 13: each worker's own health over the run (summary.json workers[].health:
   * max and mean per interval of its busiest engine's CPU, its process CPU, RSS, loop
   * lag and connections; flagged intervals: an engine above 90% CPU or its event loop
   * over 10 ms late). Nothing when no worker has it (an older folder). */
  function health(s, ws) {
    var hs = ws.filter(function (w) { return w && w.health && typeof w.health === "object"; });
    if (!hs.length) return;
    function h(w) { return obj(w.health); }
    // one column per figure: "max / mean" over the worker's intervals, sorted by max
    function mm(key, label, fmt, limit) {
      return { label: label, key: function (w) { return obj(h(w)[key]).max; },
        fmt: function (w) { var o = obj(h(w)[key]); return fmt(o.max) + " / " + fmt(o.mean); },
        cls: function (w) { return limit && obj(h(w)[key]).max > limit ? "fail" : null; } };
    }
    function f1(v) { return isNum(v) ? v.toFixed(1) : "\u2014"; }
    s.appendChild(el("h3", { class: "rp-health", text: "Generator health (per interval)" }));
    s.appendChild(table([
      { label: "Worker", txt: true, key: function (w) { return String(w.id || ""); }, fmt: function (w) { return String(w.id || ""); },
        cls: function () { return "name"; } },
      { label: "Intervals", key: function (w) { return h(w).intervals; }, fmt: function (w) { return fmtInt(h(w).intervals); } },
      { label: "Flagged", key: function (w) { return h(w).flagged_intervals; }, fmt: function (w) { return fmtInt(h(w).flagged_intervals); },
        cls: function (w) { return h(w).flagged_intervals > 0 ? "fail" : null; } },
      mm("cpu_pct", "Engine CPU %", f1, 90), mm("process_cpu_pct", "Process CPU %", f1), mm("rss_mib", "RSS MiB", f1),
      mm("loop_lag_max_ms", "Loop lag ms", fmtMs, 10), mm("connections", "Connections", f1),
      // issue 15: requests the lean client sent again over the run (0 in an older folder)
      { label: "Resent", key: function (w) { return h(w).retries || 0; }, fmt: function (w) { return fmtInt(h(w).retries || 0); } }
    ], hs, { id: "health-table", sortable: true }));
    hs.forEach(function (w) {
      var x = h(w);
      if (!(x.flagged_intervals > 0)) return;
      var why = [];
      if (x.flagged_cpu_intervals > 0) why.push("an engine above 90% CPU in " + fmtInt(x.flagged_cpu_intervals));
      if (x.flagged_lag_intervals > 0) why.push("its event loop over 10 ms late in " + fmtInt(x.flagged_lag_intervals));
      s.appendChild(el("p", { class: "notice fail", text: "Worker " + String(w.id || "") + " was flagged in " +
        fmtInt(x.flagged_intervals) + " of " + fmtInt(x.intervals) + " intervals (" + why.join(", ") +
        "): the generator may have been the bottleneck." }));
    });
    s.appendChild(el("p", { class: "rp-note", text: "Each figure: max / mean over the worker's intervals. Engine CPU: the worker's busiest engine thread, % of one core. " +
      "Loop lag: how late its engines' 100 ms loop timer fired at worst in an interval (max: the worst interval; " +
      "mean: the mean of the intervals' worst). Resent: requests the lean HTTP client sent again on a new connection after " +
      "their kept-alive connection closed before any answer byte (each counted once as a request). Per interval in workers.csv." }));
  }

  /* "co_corrected": a latency object, or an object carrying one in "latency_ms" (and
   * maybe per-name rows in "requests"). Shown beside the measured totals. */
  function coCorrected(S) {
    if (!Object.prototype.hasOwnProperty.call(S, "co_corrected") || S.co_corrected == null) return null;
    var co = obj(S.co_corrected), L = obj(co.latency_ms && typeof co.latency_ms === "object" ? co.latency_ms : co);
    var M = obj(obj(S.totals).latency_ms);
    var s = section("Coordinated-omission corrected latency", "co-corrected");
    s.appendChild(el("p", { class: "rp-note", style: "margin:0 0 10px",
      text: "Measured from each request's intended start (open model): what a user arriving on schedule would have waited." }));
    var keys = [["min", "Min"], ["mean", "Avg"], ["p50", "Median"], ["p90", "p90"], ["p95", "p95"],
                ["p99", "p99"], ["p999", "p99.9"], ["max", "Max"]];
    var rows = [{ label: "Measured (from send)", L: M }, { label: "Corrected (from intended start)", L: L }];
    s.appendChild(table([{ label: "", txt: true, key: function (r) { return r.label; }, fmt: function (r) { return r.label; } }]
      .concat(keys.map(function (k) {
        return { label: k[1] + " (ms)", key: function (r) { return r.L[k[0]]; }, fmt: function (r) { return fmtMs(r.L[k[0]]); } };
      })), rows, { id: "co-table" }));
    var per = arr(co.requests).filter(function (r) { return r && r.latency_ms; });
    if (per.length) {
      s.appendChild(el("h3", { text: "Corrected, by name", style: "margin-top:14px" }));
      s.appendChild(table([
        { label: "Type", txt: true, key: function (r) { return String(r.method || ""); }, fmt: function (r) { return String(r.method || ""); } },
        { label: "Name", txt: true, key: function (r) { return String(r.name || ""); }, fmt: function (r) { return String(r.name || ""); },
          cls: function () { return "name"; } }
      ].concat(keys.slice(2).map(function (k) {
        return { label: k[1] + " (ms)", key: function (r) { return obj(r.latency_ms)[k[0]]; },
                 fmt: function (r) { return fmtMs(obj(r.latency_ms)[k[0]]); } };
      })), per, { id: "co-names", sortable: true }));
    }
    return s;
  }

  // ---- main -----------------------------------------------------------------------

  function render() {
    var root = document.getElementById("report"), src = document.getElementById("stampede-data");
    if (!root) return;
    root.textContent = "";
    var D;
    try { D = JSON.parse(src ? src.textContent : "null"); } catch (e) { D = null; }
    if (!D || typeof D !== "object" || !D.summary) {
      root.appendChild(empty("This report holds no readable data."));
      return;
    }
    var S = obj(D.summary), main = el("main");
    root.appendChild(header(S));
    root.appendChild(main);
    [metadata(S), thresholds(S), charts(D.history, S, D.schedule, D.monitor), monitorTable(S), names(S),
     iterations(S), websocket(S), coCorrected(S), errors(S), workers(S)].forEach(function (x) { if (x) main.appendChild(x); });
    root.appendChild(el("div", { class: "footer muted",
      text: "Generated by Stampede from summary.json and stats_history.csv; self-contained, opens offline." }));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", render);
  else render();
})();
