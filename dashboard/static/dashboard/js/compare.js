/* Compare: version B against version A on every metric and breakdown. */
FW.page("compare", async () => {
  const { el, fmt } = FW;
  const data = await FW.getJSON("api-compare");
  if (!data.a) return FW.showState(document.getElementById("compare-head"), "empty", "No data yet.");
  const colorA = FW.versionColor(data.a), colorB = FW.versionColor(data.b);

  // Head: the two versions and a verdict count.
  const versionPanel = (role, name) => {
    const s = data.summary[name] || {};
    return el("div", { class: "panel", "data-side": role },
      el("div", { class: "label muted", style: { fontSize: "12px", fontWeight: 700, textTransform: "uppercase", letterSpacing: ".5px" } }, role === "a" ? "Baseline (A)" : "Candidate (B)"),
      el("div", { style: { margin: "8px 0 10px", fontSize: "17px" } }, FW.versionTag(name)),
      el("div", { class: "muted" }, `First seen ${fmt.time(s.first_seen, "hour")} · ${fmt.count(s.events)} events`),
      el("div", { class: "muted" }, `${fmt.count(s.tool_calls)} tool calls · ${fmt.count(s.tasks_finished)} finished tasks · ${fmt.count(s.suggestions_shown)} suggestions`));
  };
  const withTest = data.metrics.filter((m) => m.difference.p_value !== null);
  const better = withTest.filter((m) => m.difference.verdict === "better").length;
  const worse = withTest.filter((m) => m.difference.verdict === "worse").length;
  document.getElementById("compare-head").replaceChildren(
    versionPanel("a", data.a), versionPanel("b", data.b),
    el("div", { class: "panel kpi " + (worse ? "worse" : better ? "better" : ""), "data-verdict": "" },
      el("div", { class: "label" }, "Verdict (p < 0.05)"),
      el("div", { class: "value" }, `${better} better · ${worse} worse`),
      el("div", { class: "ci" }, `${withTest.length - better - worse} of ${withTest.length} tested metrics show no significant change`)));

  // Forest plot and table of every metric.
  const forestRows = data.metrics.filter((m) => m.difference.relative !== null);
  document.getElementById("forest-box").style.height = 60 + 34 * forestRows.length + "px";
  FW.forestChart(document.querySelector("[data-chart=compare-forest]"), forestRows);
  const head = el("tr", {}, el("th", {}, "Metric"), el("th", { class: "num" }, "A"), el("th", { class: "num" }, "B"), el("th", { class: "num" }, "B − A"), el("th", { class: "num" }, "Change"), el("th", { class: "num" }, "p"));
  const rows = data.metrics.map((m, i) => [
    i === 0 ? el("tr", { class: "group" }, el("td", { colspan: 6 }, "Headline")) : null,
    i === 4 ? el("tr", { class: "group" }, el("td", { colspan: 6 }, "More metrics")) : null,
    el("tr", { "data-metric": m.key },
      el("td", { title: m.description }, m.label),
      el("td", { class: "num" }, fmt.value(m, m.a.value), el("span", { class: "ci" }, m.a.low === null ? "n = " + fmt.count(m.a.n) : `[${fmt.value(m, m.a.low)}, ${fmt.value(m, m.a.high)}]`)),
      el("td", { class: "num" }, fmt.value(m, m.b.value), el("span", { class: "ci" }, m.b.low === null ? "n = " + fmt.count(m.b.n) : `[${fmt.value(m, m.b.low)}, ${fmt.value(m, m.b.high)}]`)),
      el("td", { class: "num" }, fmt.diff(m, m.difference.diff), el("span", { class: "ci" }, m.difference.low === null ? "" : `[${fmt.diff(m, m.difference.low)}, ${fmt.diff(m, m.difference.high)}]`)),
      el("td", { class: "num" }, FW.badge(m, m.difference)),
      el("td", { class: "num pval" }, fmt.p(m.difference.p_value))),
  ]).flat();
  document.getElementById("compare-table").replaceChildren(el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, rows)));

  // Breakdowns: one dimension at a time (tabs), one metric charted, all in the table.
  const tabs = document.querySelectorAll("#dimension-tabs a");
  const metricSelect = document.getElementById("breakdown-metric");
  let dimension = (window.location.hash || "#os").slice(1);
  if (!data.breakdowns[dimension]) dimension = "os";

  function renderBreakdown() {
    tabs.forEach((t) => t.classList.toggle("active", t.dataset.dimension === dimension));
    const entries = data.breakdowns[dimension] || [];
    const metrics = entries.length ? entries[0].metrics : [];
    const keep = metricSelect.value;
    metricSelect.replaceChildren(...metrics.map((m) => el("option", { value: m.key }, m.label)));
    if (metrics.some((m) => m.key === keep)) metricSelect.value = keep;
    const index = Math.max(0, metrics.findIndex((m) => m.key === metricSelect.value));
    const metric = metrics[index];
    if (metric) {
      const pick = (e) => e.metrics[index];
      FW.metricBarChart(document.querySelector("[data-chart=compare-breakdown]"), metric, entries.map((e) => e.value || "(none)"), [
        { label: "A · " + data.a, data: entries.map((e) => pick(e).a.value), ci: entries.map((e) => (pick(e).a.low === null ? null : [pick(e).a.low, pick(e).a.high])), backgroundColor: colorA + "aa", borderColor: colorA, borderWidth: 1 },
        { label: "B · " + data.b, data: entries.map((e) => pick(e).b.value), ci: entries.map((e) => (pick(e).b.low === null ? null : [pick(e).b.low, pick(e).b.high])), backgroundColor: colorB + "dd", borderColor: colorB, borderWidth: 1 },
      ]);
    }
    const head = el("tr", {}, el("th", {}, FW.config.dimensionTitle || dimension.toUpperCase()), ...metrics.map((m) => el("th", { class: "num" }, m.label)));
    const body = entries.map((e) => el("tr", { "data-value": e.value },
      el("td", {}, el("strong", {}, e.value || "(none)")),
      ...e.metrics.map((m) => el("td", { class: "num" },
        el("span", { class: "muted" }, fmt.value(m, m.a.value) + " → "), el("strong", {}, fmt.value(m, m.b.value)),
        el("div", { style: { marginTop: "4px" } }, FW.badge(m, m.difference), " ", el("span", { class: "pval" }, fmt.p(m.difference.p_value)))))));
    document.getElementById("breakdown-table").replaceChildren(el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, body)));
  }
  tabs.forEach((t) => t.addEventListener("click", (ev) => { ev.preventDefault(); dimension = t.dataset.dimension; history.replaceState(null, "", "#" + dimension); renderBreakdown(); }));
  metricSelect.addEventListener("change", renderBreakdown);
  renderBreakdown();

  // Tool-error kinds.
  const kinds = data.error_kinds;
  FW.makeChart(document.querySelector("[data-chart=compare-errors]"), {
    type: "bar",
    data: {
      labels: kinds.map((k) => k.error_kind),
      datasets: [
        { label: "A · " + data.a, data: kinds.map((k) => (k.rate_a || 0) * 1000), backgroundColor: colorA + "aa", borderColor: colorA, borderWidth: 1, borderRadius: 4 },
        { label: "B · " + data.b, data: kinds.map((k) => (k.rate_b || 0) * 1000), backgroundColor: colorB + "dd", borderColor: colorB, borderWidth: 1, borderRadius: 4 },
      ],
    },
    options: { indexAxis: "y", plugins: { legend: { position: "bottom" } }, scales: { x: { grid: { color: "#eef2f7" }, title: { display: true, text: "errors per 1,000 tool calls" } }, y: { grid: { display: false } } } },
  });
  const share = { unit: "share" };
  const errorRows = kinds.map((k) => el("tr", { "data-kind": k.error_kind },
    el("td", {}, el("code", {}, k.error_kind)),
    el("td", { class: "num" }, fmt.count(k.count_a)), el("td", { class: "num" }, fmt.count(k.count_b)),
    el("td", { class: "num" }, fmt.diff(share, k.difference.diff)),
    el("td", { class: "num" }, FW.badge({ unit: "share" }, Object.assign({ verdict: k.difference.significant ? (k.difference.diff < 0 ? "better" : "worse") : "no_change" }, k.difference))),
    el("td", { class: "num pval" }, fmt.p(k.difference.p_value))));
  document.getElementById("errors-table").replaceChildren(el("table", { class: "data" },
    el("thead", {}, el("tr", {}, el("th", {}, "Error kind"), el("th", { class: "num" }, "A"), el("th", { class: "num" }, "B"), el("th", { class: "num" }, "Δ per call"), el("th", { class: "num" }, "Change"), el("th", { class: "num" }, "p"))),
    el("tbody", {}, errorRows.length ? errorRows : el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No tool errors.")))));
});
