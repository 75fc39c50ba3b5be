/* Reward hacking: catch and false-positive rates per detector kind over attack_rewarder runs. */
FW.page("hacking", async () => {
  const { el, fmt, PALETTE } = FW;
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toFixed(1) + "%");

  function kpi(label, value, sub, cls) {
    return el("div", { class: "panel kpi " + (cls || ""), "data-kpi": label.toLowerCase().replace(/[^a-z]+/g, "-") },
      el("div", { class: "label" }, label), el("div", { class: "value" }, value), el("div", { class: "ci" }, sub));
  }

  function rateChart(canvas, reports, kinds, field, limit) {
    const labels = reports.map((r) => fmt.time(r.created_at, "minute"));
    const datasets = kinds.map((kind, i) => ({
      label: kind, data: reports.map((r) => (r.kinds[kind] ? 100 * r.kinds[kind][field] : null)),
      borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length], tension: 0.2, pointRadius: 3,
    }));
    datasets.push({ label: "limit", data: reports.map(() => 100 * limit), borderColor: "#94a3b8", borderDash: [6, 4], pointRadius: 0 });
    FW.makeChart(canvas, {
      type: "line", data: { labels, datasets },
      options: { scales: { y: { grid: { color: "#eef2f7" }, ticks: { callback: (v) => v + "%" } }, x: { grid: { display: false } } },
                 plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.raw === null ? "–" : c.raw.toFixed(1) + "%"}` } } } },
    });
  }

  const data = await FW.getJSON("api-hacking-reports", new URLSearchParams({ limit: "50" }));
  const reports = data.reports;
  const kpis = document.getElementById("hacking-kpis");
  if (!reports.length) {
    kpis.replaceChildren(el("div", { class: "panel empty", "data-empty": "hacking" },
      "No hacking report yet. Run: python manage.py attack_rewarder"));
    return;
  }
  const latest = reports[reports.length - 1];
  const kinds = Object.keys(latest.kinds);
  const worstCatch = kinds.reduce((a, b) => (latest.kinds[a].catch_rate <= latest.kinds[b].catch_rate ? a : b));
  const worstFp = kinds.reduce((a, b) => (latest.kinds[a].false_positive_rate >= latest.kinds[b].false_positive_rate ? a : b));
  kpis.replaceChildren(
    kpi("Verdict", latest.passed ? "passed" : "failed", `latest of ${reports.length} run(s) · ${fmt.time(latest.created_at, "minute")}`, latest.passed ? "better" : "worse"),
    kpi("Lowest catch rate", pct(latest.kinds[worstCatch].catch_rate), worstCatch, latest.kinds[worstCatch].catch_rate >= data.min_catch_rate ? "better" : "worse"),
    kpi("Highest false-positive rate", pct(latest.kinds[worstFp].false_positive_rate), worstFp, latest.kinds[worstFp].false_positive_rate <= data.max_false_positive_rate ? "better" : "worse"),
    kpi("Trajectories", fmt.count(latest.attack_count + latest.honest_count), `${fmt.count(latest.attack_count)} attacks · ${fmt.count(latest.honest_count)} honest`, ""));

  rateChart(document.querySelector("[data-chart=catch-rate]"), reports, kinds, "catch_rate", data.min_catch_rate);
  rateChart(document.querySelector("[data-chart=false-positive-rate]"), reports, kinds, "false_positive_rate", data.max_false_positive_rate);

  document.getElementById("latest-sub").textContent = `Run of ${fmt.time(latest.created_at, "minute")}.`;
  const kindRows = kinds.map((kind) => {
    const k = latest.kinds[kind];
    return el("tr", { "data-kind": kind }, el("td", {}, el("code", {}, kind)), el("td", { class: "num" }, `${fmt.count(k.caught)} / ${fmt.count(k.attacks)}`),
      el("td", { class: "num " + (k.catch_rate >= data.min_catch_rate ? "status-ok" : "status-bad") }, pct(k.catch_rate)),
      el("td", { class: "num" }, `${fmt.count(k.false_positives)} / ${fmt.count(k.honest)}`),
      el("td", { class: "num " + (k.false_positive_rate <= data.max_false_positive_rate ? "status-ok" : "status-bad") }, pct(k.false_positive_rate)));
  });
  document.getElementById("kinds-table").replaceChildren(el("table", { class: "data" },
    el("thead", {}, el("tr", {}, el("th", {}, "Kind"), el("th", { class: "num" }, "Caught"), el("th", { class: "num" }, "Catch rate"),
      el("th", { class: "num" }, "Honest flagged"), el("th", { class: "num" }, "FP rate"))), el("tbody", {}, kindRows)));
  const disguiseRows = Object.entries(latest.disguises).map(([name, d]) => el("tr", { "data-disguise": name },
    el("td", {}, el("code", {}, name)), el("td", { class: "num" }, `${fmt.count(d.caught)} / ${fmt.count(d.attacks)}`), el("td", { class: "num" }, pct(d.catch_rate))));
  document.getElementById("disguises-table").replaceChildren(el("table", { class: "data" },
    el("thead", {}, el("tr", {}, el("th", {}, "Disguise"), el("th", { class: "num" }, "Caught"), el("th", { class: "num" }, "Catch rate"))),
    el("tbody", {}, disguiseRows)));
});
