/* Flywheel dashboard core: config, JSON fetching, formatting, Chart.js helpers and plugins.
 * Pages register an init function with FW.page(name, fn); it runs on DOMContentLoaded
 * when <body data-page> matches. Every chart reads one JSON endpoint (see /api/schema/). */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const PALETTE = ["#6366f1", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#84cc16", "#f97316"];
  const VERDICT_COLORS = { better: "#059669", worse: "#dc2626", no_change: "#94a3b8" };
  const pages = {};

  /* ---------- data ---------- */

  function pageParams(overrides) {
    const params = new URLSearchParams(window.location.search);
    if (config.org && !params.has("org")) params.set("org", config.org);
    Object.entries(overrides || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === "") params.delete(k);
      else params.set(k, v);
    });
    return params;
  }

  async function getJSON(endpoint, params) {
    const url = config.endpoints[endpoint] + "?" + (params || pageParams()).toString();
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    let body = null;
    try { body = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error((body && body.message) || `${response.status} ${response.statusText}`);
    return body;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function postJSON(url) {
    const response = await fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `${response.status} ${response.statusText}`);
    return body;
  }

  /* ---------- formatting ---------- */

  const nf0 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const nf1 = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  const nfCompact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

  const fmt = {
    value(metric, v) {
      if (v === null || v === undefined) return "–";
      return metric.unit === "share" ? nf1.format(v * 100) + "%" : nf0.format(v);
    },
    ci(metric, e) {
      if (!e || e.low === null || e.low === undefined) return "";
      return "95% CI " + fmt.value(metric, e.low) + " – " + fmt.value(metric, e.high);
    },
    diff(metric, d) {
      if (d === null || d === undefined) return "–";
      const sign = d > 0 ? "+" : d < 0 ? "−" : "±";
      return metric.unit === "share" ? sign + nf1.format(Math.abs(d) * 100) + " pts" : sign + nf0.format(Math.abs(d));
    },
    rel(r) {
      if (r === null || r === undefined) return "–";
      const sign = r > 0 ? "+" : r < 0 ? "−" : "±";
      return sign + nf1.format(Math.abs(r) * 100) + "%";
    },
    relRange(d) {
      if (!d || d.relative_low === null || d.relative_low === undefined) return "";
      return "[" + fmt.rel(d.relative_low) + ", " + fmt.rel(d.relative_high) + "]";
    },
    p(p) {
      if (p === null || p === undefined) return "p n/a";
      if (p < 0.001) return "p < 0.001";
      return "p = " + (p < 0.01 ? p.toFixed(3) : p.toFixed(2));
    },
    count(n) { return n === null || n === undefined ? "–" : nf0.format(n); },
    compact(n) { return n === null || n === undefined ? "–" : nfCompact.format(n); },
    time(iso, bucket) {
      const d = new Date(iso);
      const opts = bucket === "day" ? { month: "short", day: "numeric", timeZone: "UTC" }
        : { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" };
      return d.toLocaleString("en-US", opts);
    },
  };

  /* ---------- DOM ---------- */

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === null || v === undefined || v === false) return;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k === "html") node.innerHTML = v;
      else if (k === "style" && typeof v === "object") Object.assign(node.style, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => { if (c !== null && c !== undefined && c !== false) node.append(c.nodeType ? c : document.createTextNode(String(c))); });
    return node;
  }

  function versionColor(name) {
    const i = config.versions.indexOf(name);
    return PALETTE[(i < 0 ? config.versions.length : i) % PALETTE.length];
  }

  function versionTag(name) {
    return el("span", { class: "version", "data-version": name }, el("span", { class: "swatch", style: { background: versionColor(name) } }), name);
  }

  function badge(metric, delta) {
    if (!delta) return el("span", { class: "badge no_change" }, "baseline");
    const text = fmt.rel(delta.relative) !== "–" ? fmt.rel(delta.relative) : fmt.diff(metric, delta.diff);
    const arrow = delta.diff > 0 ? "▲ " : delta.diff < 0 ? "▼ " : "";
    return el("span", { class: "badge " + delta.verdict, title: `${fmt.diff(metric, delta.diff)} (95% CI ${fmt.diff(metric, delta.low)} to ${fmt.diff(metric, delta.high)}), ${fmt.p(delta.p_value)} · ${delta.test}` }, arrow + text);
  }

  function showState(container, kind, message) {
    container.replaceChildren(el("div", { class: kind }, message));
  }

  function toast(message) {
    const t = el("div", { class: "toast", role: "status" }, message);
    document.body.append(t);
    setTimeout(() => t.remove(), 3500);
  }

  /* ---------- charts ---------- */

  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = "#475569";
    Chart.defaults.borderColor = "#e2e8f0";
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
    Chart.defaults.plugins.legend.labels.boxHeight = 12;
    Chart.defaults.plugins.tooltip.backgroundColor = "#0f172a";
    Chart.defaults.plugins.tooltip.padding = 10;

    /* Whiskers for 95% intervals: a dataset may carry ci: [[low, high] | null, ...]. */
    Chart.register({
      id: "ciWhiskers",
      afterDatasetsDraw(chart) {
        const { ctx } = chart;
        const horizontal = chart.options.indexAxis === "y";
        const valueScale = horizontal ? chart.scales.x : chart.scales.y;
        chart.data.datasets.forEach((ds, di) => {
          if (!ds.ci || !chart.isDatasetVisible(di)) return;
          const meta = chart.getDatasetMeta(di);
          const area = chart.chartArea;
          ctx.save();
          ctx.beginPath();
          ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
          ctx.clip();
          ctx.strokeStyle = ds.whiskerColor || "#0f172a";
          ctx.lineWidth = 1.4;
          meta.data.forEach((bar, i) => {
            const range = ds.ci[i];
            if (!range || range[0] === null || range[1] === null) return;
            const a = valueScale.getPixelForValue(range[0]);
            const b = valueScale.getPixelForValue(range[1]);
            const cap = Math.min(6, ((horizontal ? bar.height : bar.width) || 12) / 4);
            ctx.beginPath();
            if (horizontal) {
              ctx.moveTo(a, bar.y); ctx.lineTo(b, bar.y);
              ctx.moveTo(a, bar.y - cap); ctx.lineTo(a, bar.y + cap);
              ctx.moveTo(b, bar.y - cap); ctx.lineTo(b, bar.y + cap);
            } else {
              ctx.moveTo(bar.x, a); ctx.lineTo(bar.x, b);
              ctx.moveTo(bar.x - cap, a); ctx.lineTo(bar.x + cap, a);
              ctx.moveTo(bar.x - cap, b); ctx.lineTo(bar.x + cap, b);
            }
            ctx.stroke();
          });
          ctx.restore();
        });
      },
    });

    /* Vertical markers: options.plugins.versionMarkers.markers = [{index, label, color}]. */
    Chart.register({
      id: "versionMarkers",
      afterDatasetsDraw(chart, _args, opts) {
        const markers = (opts && opts.markers) || [];
        if (!markers.length) return;
        const { ctx, chartArea } = chart;
        const x = chart.scales.x;
        ctx.save();
        markers.forEach((m, k) => {
          const px = x.getPixelForValue(m.index);
          if (px < chartArea.left - 1 || px > chartArea.right + 1) return;
          ctx.strokeStyle = m.color;
          ctx.setLineDash([5, 4]);
          ctx.lineWidth = 1.5;
          ctx.beginPath(); ctx.moveTo(px, chartArea.top); ctx.lineTo(px, chartArea.bottom); ctx.stroke();
          ctx.setLineDash([]);
          ctx.font = "600 11px " + Chart.defaults.font.family;
          const text = m.label;
          const w = ctx.measureText(text).width + 10;
          const y = chartArea.top + 4 + (k % 3) * 18;
          const left = Math.min(px + 4, chartArea.right - w);
          ctx.fillStyle = m.color;
          ctx.globalAlpha = 0.92;
          ctx.fillRect(left, y, w, 16);
          ctx.globalAlpha = 1;
          ctx.fillStyle = "#fff";
          ctx.fillText(text, left + 5, y + 12);
        });
        ctx.restore();
      },
    });
  }

  /* Axis bounds from the plotted values (not the intervals, which may be wide on small
   * buckets), padded, and kept inside [0, 1] for shares and >= 0 for token counts. */
  function valueBounds(metric, values) {
    const v = values.filter((x) => x !== null && x !== undefined && Number.isFinite(x));
    if (!v.length) return {};
    const min = Math.min(...v), max = Math.max(...v);
    const pad = (max - min) * 0.35 || Math.abs(max) * 0.1 || 0.01;
    const raw = (max - min + 2 * pad) / 5;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
    const lo = Math.max(0, Math.floor((min - pad) / step) * step);
    const hi = Math.ceil((max + pad) / step) * step;
    return { min: lo, max: metric.unit === "share" ? Math.min(1, hi) : hi, stepSize: step };
  }

  function valueAxis(metric, extra) {
    const { stepSize, ...rest } = extra || {};
    return Object.assign({
      grid: { color: "#eef2f7" },
      ticks: { stepSize, callback: (v) => (metric.unit === "share" ? Math.round(v * 1000) / 10 + "%" : nfCompact.format(v)) },
    }, rest);
  }

  function makeChart(canvas, cfg) {
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    return new Chart(canvas, cfg);
  }

  function tooltipWithCI(metric) {
    return {
      callbacks: {
        label(ctx) {
          const ds = ctx.dataset;
          const range = ds.ci && ds.ci[ctx.dataIndex];
          const value = fmt.value(metric, ctx.raw);
          const ci = range && range[0] !== null ? `  (95% CI ${fmt.value(metric, range[0])} – ${fmt.value(metric, range[1])})` : "";
          return `${ds.label}: ${value}${ci}`;
        },
      },
    };
  }

  /* One metric as bars (one per version or per category), with CI whiskers. */
  function metricBarChart(canvas, metric, labels, datasets, opts) {
    const values = datasets.flatMap((d) => (d.ci || []).flat().concat(d.data)).filter((v) => v !== null && v !== undefined);
    const min = values.length ? Math.min(...values) : 0, max = values.length ? Math.max(...values) : 1;
    const pad = (max - min) * 0.15 || Math.abs(max) * 0.1 || 0.01;
    const suggestedMin = Math.max(0, min - pad);
    const suggestedMax = metric.unit === "share" ? Math.min(1, max + pad) : max + pad;
    return makeChart(canvas, {
      type: "bar",
      data: { labels, datasets },
      options: Object.assign({
        plugins: { legend: { display: datasets.length > 1, position: "bottom" }, tooltip: tooltipWithCI(metric) },
        scales: { y: valueAxis(metric, { suggestedMin, suggestedMax, beginAtZero: false }), x: { grid: { display: false } } },
        datasets: { bar: { borderRadius: 5, maxBarThickness: 56, categoryPercentage: 0.7, barPercentage: 0.9 } },
      }, opts || {}),
    });
  }

  /* Relative changes with CIs as a horizontal "forest" plot, coloured by verdict. */
  function forestChart(canvas, rows) {
    // Long labels on two lines: the y axis may take at most half of a narrow panel.
    const labels = rows.map((r) => (r.label.length > 22 && r.label.includes(" @ ") ? r.label.replace(" @ ", "\n@ ").split("\n") : r.label));
    const data = rows.map((r) => (r.difference.relative === null ? null : r.difference.relative));
    const ci = rows.map((r) => (r.difference.relative_low === null || r.difference.relative_low === undefined ? null : [r.difference.relative_low, r.difference.relative_high]));
    const colors = rows.map((r) => VERDICT_COLORS[r.difference.verdict]);
    // Scale on the point estimates (capped at ±100%): one huge change must not flatten the rest;
    // whiskers and bars beyond the axis are clipped (the tooltip has the exact numbers).
    const extent = Math.min(1, Math.max(0.05, ...data.filter((v) => v !== null).map(Math.abs)) * 1.3);
    return makeChart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ label: "Relative change (B vs A)", data, ci, backgroundColor: colors.map((c) => c + "cc"), borderColor: colors, borderWidth: 1, whiskerColor: "#334155" }] },
      options: {
        indexAxis: "y",
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label(ctx) { const r = rows[ctx.dataIndex]; return `${fmt.rel(r.difference.relative)} ${fmt.relRange(r.difference)} · ${fmt.p(r.difference.p_value)}`; } } },
        },
        scales: {
          x: { min: -extent, max: extent, grid: { color: (c) => (c.tick && c.tick.value === 0 ? "#64748b" : "#eef2f7") }, ticks: { maxRotation: 0, maxTicksLimit: 5, callback: (v) => fmt.rel(v) } },
          y: { grid: { display: false }, ticks: { autoSkip: false, font: { size: 11.5 } } },
        },
        datasets: { bar: { borderRadius: 4, barPercentage: 0.6 } },
      },
    });
  }

  /* ---------- filters ---------- */

  function wireFilters() {
    const form = document.getElementById("filters");
    if (!form) return;
    form.querySelectorAll("[data-swatch]").forEach((s) => { s.style.background = versionColor(s.dataset.swatch); });
    form.querySelectorAll(".chip input").forEach((input) => {
      input.addEventListener("change", () => { input.closest(".chip").classList.toggle("on", input.checked); form.submit(); });
    });
    form.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => form.submit()));
  }

  function page(name, fn) { pages[name] = fn; }

  document.addEventListener("DOMContentLoaded", () => {
    wireFilters();
    const fn = pages[document.body.dataset.page];
    if (fn) {
      Promise.resolve(fn()).catch((err) => {
        console.error(err);
        document.querySelectorAll("[data-loading]").forEach((c) => showState(c, "error-box", "Could not load data: " + err.message));
      });
    }
  });

  window.FW = { config, valueBounds, pageParams, getJSON, postJSON, fmt, el, versionColor, versionTag, badge, showState, toast, makeChart, metricBarChart, forestChart, valueAxis, tooltipWithCI, page, PALETTE, VERDICT_COLORS };
})();
