/* Reward models: versions, held-out accuracy, calibration plot, the active one. */
FW.page("reward-models", async () => {
  const { el, fmt } = FW;
  const KINDS = { bradley_terry: "Bradley–Terry (torch)", baseline: "baseline (scikit-learn)" };
  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%");
  const data = await FW.getJSON("api-reward-models");
  const versions = data.versions;
  const active = versions.find((v) => v.is_active) || null;
  const newest = versions[0] || null;

  function kpi(key, label, value, sub, cls) {
    return el("div", { class: "panel kpi " + (cls || ""), "data-kpi": key },
      el("div", { class: "label" }, label), el("div", { class: "value" }, value), el("div", { class: "ci" }, sub));
  }
  const shown = active || newest;
  document.getElementById("rm-kpis").replaceChildren(
    kpi("active", "Active version", active ? active.version : "none", active ? `${KINDS[active.kind]} · promoted ${fmt.time(active.promoted_at)}` : "promote one to serve rewards", active ? "better" : ""),
    kpi("accuracy", "Held-out accuracy", shown ? pct(shown.pairwise_accuracy) : "–", shown ? `${shown.version} · ${fmt.count(shown.validation_pairs)} validation pairs` : "no versions yet"),
    kpi("ece", "Calibration error (ECE)", shown && shown.ece !== null ? shown.ece.toFixed(3) : "–", "0 is perfectly calibrated"),
    kpi("versions", "Versions", fmt.count(versions.length), newest ? `newest ${newest.version} on ${newest.dataset}` : "train with manage.py train_reward_model"));

  // Oldest to newest, left to right; the active version stands out.
  const ordered = versions.slice().reverse();
  const accuracyCanvas = document.querySelector("[data-chart=accuracy]");
  if (ordered.length) {
    FW.makeChart(accuracyCanvas, {
      type: "bar",
      data: { labels: ordered.map((v) => v.version), datasets: [{ label: "held-out pairwise accuracy", data: ordered.map((v) => v.pairwise_accuracy),
        backgroundColor: ordered.map((v) => (v.is_active ? "#10b981cc" : "#6366f1aa")), borderRadius: 4, maxBarThickness: 48 }] },
      options: { plugins: { legend: { display: false }, tooltip: { callbacks: { label: (c) => `${pct(c.raw)} · ${ordered[c.dataIndex].kind}${ordered[c.dataIndex].is_active ? " · active" : ""}` } } },
        scales: { y: { min: 0, max: 1, ticks: { callback: (v) => Math.round(v * 100) + "%" }, grid: { color: "#eef2f7" } }, x: { grid: { display: false } } } },
    });
  } else {
    accuracyCanvas.removeAttribute("data-chart");
    FW.showState(document.getElementById("accuracy-box"), "empty", "No reward models yet: run manage.py mine_preferences, then manage.py train_reward_model.");
  }

  const select = document.getElementById("calibration-version");
  select.replaceChildren(...versions.map((v) => el("option", { value: v.version, selected: shown && v.version === shown.version }, v.version + (v.is_active ? " (active)" : ""))));
  select.hidden = !versions.length;
  function drawCalibration(name) {
    const v = versions.find((x) => x.version === name);
    const bins = v ? v.calibration.filter((b) => b.count > 0) : [];
    const datasets = [{ label: "perfect calibration", data: [{ x: 0.5, y: 0.5 }, { x: 1, y: 1 }], borderColor: "#94a3b8", borderDash: [6, 4], pointRadius: 0, showLine: true }];
    if (v) {
      datasets.push({ label: v.version, data: bins.map((b) => ({ x: b.confidence, y: b.accuracy, count: b.count })), borderColor: "#6366f1",
        backgroundColor: "#6366f1", showLine: true, pointRadius: bins.map((b) => 3 + Math.min(9, Math.sqrt(b.count))) });
    }
    FW.makeChart(document.querySelector("[data-chart=calibration]"), {
      type: "scatter", data: { datasets },
      options: { plugins: { tooltip: { callbacks: { label: (c) => (c.raw.count ? `confidence ${pct(c.raw.x)} → right ${pct(c.raw.y)} (${c.raw.count} pairs)` : c.dataset.label) } } },
        scales: { x: { min: 0.5, max: 1, title: { display: true, text: "confidence" }, ticks: { callback: (x) => Math.round(x * 100) + "%" } },
          y: { min: 0, max: 1, title: { display: true, text: "accuracy" }, ticks: { callback: (y) => Math.round(y * 100) + "%" } } } },
    });
  }
  select.addEventListener("change", () => drawCalibration(select.value));
  drawCalibration(shown ? shown.version : null);

  const head = el("tr", {}, ...["Version", "Kind", "Dataset", "Parent", "Accuracy", "ECE", "Train / val pairs", "Train time", "Created"].map((h) => el("th", {}, h)));
  const rows = versions.map((v) => el("tr", { "data-row": v.version },
    el("td", {}, el("strong", {}, v.version), v.is_active ? el("span", { class: "badge better", "data-active": "", style: { marginLeft: "6px" } }, "active") : null),
    el("td", {}, KINDS[v.kind]),
    el("td", {}, el("code", {}, v.dataset)), el("td", {}, v.parent || "–"),
    el("td", { class: "num" }, pct(v.pairwise_accuracy)), el("td", { class: "num" }, v.ece === null ? "–" : v.ece.toFixed(3)),
    el("td", { class: "num" }, `${fmt.count(v.train_pairs)} / ${fmt.count(v.validation_pairs)}`),
    el("td", { class: "num" }, v.train_seconds.toFixed(1) + " s"), el("td", {}, fmt.time(v.created_at))));
  document.getElementById("rm-table").replaceChildren(el("table", { class: "data" }, el("thead", {}, head),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 9, class: "muted" }, "No reward models trained on this organization's data yet.")))));
});
