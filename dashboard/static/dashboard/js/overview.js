/* Overview: headline metrics per version with 95% CIs and deltas against the baseline. */
FW.page("overview", async () => {
  const { el, fmt } = FW;
  const params = FW.pageParams();
  const data = await FW.getJSON("api-overview", params);
  document.getElementById("json-link").href = FW.config.endpoints["api-overview"] + "?" + params.toString();
  const versions = data.versions.filter((v) => !data.selected.length || data.selected.includes(v.model_version) || v.is_baseline);
  const newest = versions.find((v) => v.model_version === data.newest) || null;

  // KPI cards: the newest selected version against the baseline.
  const kpis = document.getElementById("kpis");
  kpis.replaceChildren(...data.metrics.map((metric) => {
    const cell = newest && newest.metrics[metric.key];
    const delta = cell && cell.delta;
    return el("div", { class: "panel kpi " + (delta ? delta.verdict : ""), "data-kpi": metric.key },
      el("div", { class: "label" }, metric.label),
      el("div", { class: "value" }, cell ? fmt.value(metric, cell.estimate.value) : "–"),
      el("div", { class: "ci" }, cell ? fmt.ci(metric, cell.estimate) : ""),
      el("div", { class: "delta" },
        delta ? FW.badge(metric, delta) : el("span", { class: "badge no_change" }, newest ? "baseline" : "no data"),
        delta ? el("span", { class: "pval" }, fmt.diff(metric, delta.diff) + " · " + fmt.p(delta.p_value)) : null),
      el("div", { class: "vs-line" }, newest ? [FW.versionTag(newest.model_version), data.baseline && !newest.is_baseline ? " vs " : "", data.baseline && !newest.is_baseline ? FW.versionTag(data.baseline) : ""] : ""));
  }));

  // One bar chart per metric, bars per version, whiskers = 95% CI.
  data.metrics.forEach((metric, i) => {
    document.querySelector(`[data-chart-title="${i}"]`).textContent = metric.label;
    document.querySelector(`[data-chart-sub="${i}"]`).textContent = (metric.better === "higher" ? "Higher is better" : "Lower is better") + " · n = " + fmt.compact(versions.reduce((s, v) => s + (v.metrics[metric.key].estimate.n || 0), 0));
    const labels = versions.map((v) => v.model_version);
    FW.metricBarChart(document.querySelector(`[data-chart="overview-${i}"]`), metric, labels, [{
      label: metric.label,
      data: versions.map((v) => v.metrics[metric.key].estimate.value),
      ci: versions.map((v) => { const e = v.metrics[metric.key].estimate; return e.low === null ? null : [e.low, e.high]; }),
      backgroundColor: versions.map((v) => FW.versionColor(v.model_version) + (v.is_baseline ? "88" : "dd")),
      borderColor: versions.map((v) => FW.versionColor(v.model_version)),
      borderWidth: 1,
    }]);
  });

  // Table: every version, every metric, value + CI + delta.
  const head = el("tr", {}, el("th", {}, "Model version"), el("th", {}, "First seen"), el("th", { class: "num" }, "Events"),
    ...data.metrics.map((m) => el("th", { class: "num" }, m.label)));
  const rows = versions.map((v) => el("tr", { class: v.is_baseline ? "baseline" : "", "data-row": v.model_version },
    el("td", {}, FW.versionTag(v.model_version)),
    el("td", { class: "muted nowrap" }, fmt.time(v.first_seen, "hour")),
    el("td", { class: "num" }, fmt.count(v.events)),
    ...data.metrics.map((m) => {
      const cell = v.metrics[m.key];
      return el("td", { class: "num" },
        el("strong", {}, fmt.value(m, cell.estimate.value)),
        el("span", { class: "ci" }, cell.estimate.low === null ? "n = " + fmt.count(cell.estimate.n) : "[" + fmt.value(m, cell.estimate.low) + ", " + fmt.value(m, cell.estimate.high) + "]"),
        cell.delta ? el("div", { style: { marginTop: "4px" } }, FW.badge(m, cell.delta)) : null);
    })));
  document.getElementById("overview-table").replaceChildren(el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, rows)));

  // Why: the breakdown cells where the newest version moved most (significant ones only).
  const movers = document.getElementById("movers");
  const compareUrl = (FW.config.endpoints["api-compare"] || "").replace("/api/compare", "/compare/");
  if (!data.baseline || !data.newest || data.baseline === data.newest) {
    FW.showState(movers, "empty", "Select at least two versions to see what changed.");
    return;
  }
  const pair = { a: data.baseline, b: data.newest, model_version: null, baseline: null };
  document.getElementById("movers-link").href = compareUrl + "?" + FW.pageParams(pair).toString();
  const cmp = await FW.getJSON("api-compare", FW.pageParams(pair));
  const TITLES = { os: "OS", shell: "Shell", ide: "IDE", language: "Language", tool: "Tool" };
  const cells = [];
  Object.entries(cmp.breakdowns).forEach(([dimension, entries]) => entries.forEach((entry) => entry.metrics.forEach((m) => {
    if (m.difference.significant && m.difference.relative !== null && m.key !== "tool_call_success_rate") cells.push({ dimension, value: entry.value, m });
  })));
  cells.sort((x, y) => Math.abs(y.m.difference.relative) - Math.abs(x.m.difference.relative));
  const moverRows = cells.slice(0, 8).map(({ dimension, value, m }) => el("tr", { "data-mover": `${dimension}:${value}:${m.key}` },
    el("td", {}, el("span", { class: "muted" }, TITLES[dimension] + " "), el("strong", {}, value)),
    el("td", {}, m.label),
    el("td", { class: "num" }, el("span", { class: "muted" }, fmt.value(m, m.a.value) + " → "), el("strong", {}, fmt.value(m, m.b.value))),
    el("td", { class: "num" }, FW.badge(m, m.difference)),
    el("td", { class: "num pval" }, fmt.p(m.difference.p_value))));
  movers.replaceChildren(moverRows.length
    ? el("table", { class: "data" }, el("thead", {}, el("tr", {}, el("th", {}, "Slice"), el("th", {}, "Metric"), el("th", { class: "num" }, `${data.baseline} → ${data.newest}`), el("th", { class: "num" }, "Change"), el("th", { class: "num" }, "p"))), el("tbody", {}, moverRows))
    : el("div", { class: "empty" }, "No breakdown changed significantly."));
});
