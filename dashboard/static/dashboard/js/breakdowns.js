/* Breakdowns: metrics by OS, shell, IDE, language or tool; and the top tool-error kinds. */
FW.page("breakdowns", async () => {
  const { el, fmt } = FW;
  const DIMENSIONS = ["os", "shell", "ide", "language", "tool"];
  const TITLES = { os: "OS", shell: "Shell", ide: "IDE", language: "Language", tool: "Tool" };
  const here = new URLSearchParams(window.location.search);
  const dimension = DIMENSIONS.includes(here.get("dimension")) ? here.get("dimension") : "os";
  const link = (changes) => "?" + FW.pageParams(changes).toString();
  const windowsPreset = here.get("os") === "windows" && here.get("tool") === "shell";

  // Tabs, preset and active filter pills.
  document.querySelectorAll("#dimension-tabs a").forEach((a) => {
    a.href = link({ dimension: a.dataset.dimension });
    a.classList.toggle("active", a.dataset.dimension === dimension);
  });
  const preset = document.getElementById("windows-preset");
  preset.href = link({ dimension: "shell", os: "windows", tool: "shell", ide: null, language: null, shell: null });
  if (windowsPreset) { preset.textContent = "Showing"; preset.classList.add("secondary"); }
  const pills = DIMENSIONS.filter((d) => here.get(d)).map((d) => el("span", { class: "pill", "data-filter-pill": d }, `${TITLES[d]}: ${here.get(d)}`, el("a", { href: link({ [d]: null }), title: "Remove filter" }, "×")));
  document.getElementById("filter-pills").replaceChildren(...(pills.length ? [el("span", {}, "Filtered by"), ...pills] : [el("span", {}, "No filter: click a value in the table to drill down.")]));

  const [data, errors] = await Promise.all([
    FW.getJSON("api-breakdown", FW.pageParams({ dimension })),
    FW.getJSON("api-tool-errors", FW.pageParams({ dimension: null, ide: null, language: null })),
  ]);

  // Chart: the selected metric per value, one bar per version, 95% CI whiskers.
  const select = document.getElementById("breakdown-metric");
  select.replaceChildren(...data.metrics.map((m) => el("option", { value: m.key }, m.label)));
  select.value = windowsPreset ? "tool_call_success_rate" : data.metrics[0].key;
  const values = data.values;
  function render() {
    const metric = data.metrics.find((m) => m.key === select.value) || data.metrics[0];
    document.getElementById("breakdown-title").textContent = windowsPreset && metric.key === "tool_call_success_rate"
      ? "Windows terminal-command accuracy by shell" : `${metric.label} by ${TITLES[dimension]}`;
    document.getElementById("breakdown-sub").textContent = `${metric.better === "higher" ? "Higher" : "Lower"} is better · whiskers: 95% CI · ${metric.description}`;
    if (!values.length) { FW.makeChart(document.querySelector("[data-chart=breakdown]"), { type: "bar", data: { labels: [], datasets: [] } }); return; }
    FW.metricBarChart(document.querySelector("[data-chart=breakdown]"), metric, values.map((v) => v.value || "(none)"), data.versions.map((name) => {
      const color = FW.versionColor(name);
      return {
        label: name,
        data: values.map((v) => (v.versions[name] ? v.versions[name][metric.key].value : null)),
        ci: values.map((v) => { const e = v.versions[name] && v.versions[name][metric.key]; return e && e.low !== null ? [e.low, e.high] : null; }),
        backgroundColor: color + "cc", borderColor: color, borderWidth: 1,
      };
    }), { plugins: { legend: { display: true, position: "bottom" }, tooltip: FW.tooltipWithCI(metric) } });
  }
  select.addEventListener("change", render);
  render();

  // Table: one row per (value, version), every metric with its interval; values drill down.
  const next = DIMENSIONS.find((d) => d !== dimension && !here.get(d)) || dimension;
  const head = el("tr", {}, el("th", {}, TITLES[dimension]), el("th", {}, "Model version"), ...data.metrics.map((m) => el("th", { class: "num" }, m.label)));
  const rows = values.flatMap((v) => data.versions.filter((name) => v.versions[name]).map((name, i) => el("tr", { "data-value": v.value, "data-version": name },
    el("td", {}, i === 0 ? el("a", { href: link({ [dimension]: v.value, dimension: next }), title: `Filter on ${TITLES[dimension]} = ${v.value} and break down by ${TITLES[next]}` }, el("strong", {}, v.value || "(none)")) : ""),
    el("td", {}, FW.versionTag(name)),
    ...data.metrics.map((m) => { const e = v.versions[name][m.key]; return el("td", { class: "num" }, fmt.value(m, e.value), el("span", { class: "ci" }, e.low === null ? "n = " + fmt.count(e.n) : `[${fmt.value(m, e.low)}, ${fmt.value(m, e.high)}] · n = ${fmt.compact(e.n)}`)); }))));
  document.getElementById("breakdown-table").replaceChildren(rows.length
    ? el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, rows))
    : el("div", { class: "empty" }, "No data for these filters."));

  // Tool-error kinds.
  const kinds = errors.kinds;
  FW.makeChart(document.querySelector("[data-chart=tool-errors]"), {
    type: "bar",
    data: {
      labels: kinds.map((k) => k.error_kind),
      datasets: errors.versions.map((name) => ({ label: name, data: kinds.map((k) => (k.by_version[name].per_call || 0) * 1000), backgroundColor: FW.versionColor(name) + "cc", borderColor: FW.versionColor(name), borderWidth: 1, borderRadius: 4 })),
    },
    options: { indexAxis: "y", plugins: { legend: { position: "bottom" } }, scales: { x: { grid: { color: "#eef2f7" }, title: { display: true, text: "errors per 1,000 tool calls" } }, y: { grid: { display: false } } } },
  });
  const errHead = el("tr", {}, el("th", {}, "Error kind"), el("th", { class: "num" }, "Total"), ...errors.versions.map((n) => el("th", { class: "num" }, FW.versionTag(n))));
  const errRows = kinds.map((k) => el("tr", { "data-kind": k.error_kind }, el("td", {}, el("code", {}, k.error_kind)), el("td", { class: "num" }, el("strong", {}, fmt.count(k.total))),
    ...errors.versions.map((n) => el("td", { class: "num" }, fmt.count(k.by_version[n].count), el("span", { class: "ci" }, k.by_version[n].per_call === null ? "" : (k.by_version[n].per_call * 1000).toFixed(1) + " / 1k calls")))));
  document.getElementById("errors-table").replaceChildren(el("table", { class: "data" }, el("thead", {}, errHead), el("tbody", {}, errRows.length ? errRows : el("tr", {}, el("td", { colspan: 2 + errors.versions.length, class: "muted" }, "No tool errors for these filters.")))));
});
