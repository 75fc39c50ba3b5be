/* Deployments: versions and lineage, canary progress, and each decision with its numbers. */
FW.page("deployments", async () => {
  const { el, fmt } = FW;
  const STATE_CLASS = { serving: "better", canary: "tag", candidate: "no_change", retired: "no_change", rolled_back: "worse" };
  const STATUS_CLASS = { running: "tag", promoted: "better", rolled_back: "worse", failed: "worse" };
  const VERDICT_CLASS = { promote: "better", rollback: "worse", wait: "no_change" };
  const SHARE_METRICS = new Set(["code_retention_5m", "tool_call_error_rate", "task_success_rate", "windows_terminal_accuracy"]);

  function num(key, v) {
    if (v === null || v === undefined) return "–";
    return SHARE_METRICS.has(key) ? (v * 100).toFixed(1) + "%" : v.toFixed(1);
  }
  function p(v) { return v === null || v === undefined ? "–" : v < 0.001 ? "<0.001" : v.toFixed(3); }
  function kpi(label, value, sub, cls) {
    return el("div", { class: "panel kpi " + (cls || ""), "data-kpi": label.toLowerCase().replace(/[^a-z]+/g, "-") },
      el("div", { class: "label" }, label), el("div", { class: "value" }, value), el("div", { class: "ci" }, sub));
  }

  function metricsTable(decision) {
    const head = el("tr", {}, ...["Metric", "Control", "Canary", "Test", "p (worse)", "Holm p (worse)", "Holm p (better)", "Verdict"].map((h) => el("th", {}, h)));
    const rows = decision.metrics.map((m) => el("tr", { "data-metric": m.key },
      el("td", {}, m.key.replace(/_/g, " ")),
      el("td", { class: "num" }, num(m.key, m.control)), el("td", { class: "num" }, num(m.key, m.canary)),
      el("td", { class: "muted" }, m.test), el("td", { class: "num" }, p(m.p_worse)),
      el("td", { class: "num" }, p(m.adjusted_p_worse)), el("td", { class: "num" }, p(m.adjusted_p_better)),
      el("td", {}, el("span", { class: "badge " + (m.significantly_worse ? "worse" : m.significantly_better ? "better" : "no_change") },
        m.significantly_worse ? "significantly worse" : m.significantly_better ? "significantly better" : "no significant change"))));
    return el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, rows));
  }

  function rolloutPanel(r) {
    const last = r.decisions.length ? r.decisions[r.decisions.length - 1] : null;
    const bar = el("div", { class: "progress", style: { background: "#eef2f7", borderRadius: "6px", height: "10px", margin: "8px 0" } },
      el("div", { "data-progress": String(r.progress), style: { width: Math.round(r.progress * 100) + "%", height: "10px", borderRadius: "6px", background: "#6366f1" } }));
    const decisions = r.decisions.map((d) => el("li", { "data-verdict": d.verdict },
      el("span", { class: "badge " + VERDICT_CLASS[d.verdict] }, d.verdict), " ", fmt.time(d.at, "minute"),
      ` · ${d.sessions_control} control / ${d.sessions_canary} canary sessions · `, d.reason));
    return el("div", { class: "panel", "data-rollout": String(r.id), style: { marginBottom: "16px" } },
      el("div", { class: "panel-head" },
        el("div", {}, el("h2", {}, `${r.candidate} canary beside ${r.control}`),
          el("p", { class: "sub" }, `${Math.round(r.canary_share * 100)}% of sessions · backend ${r.backend} · started ${fmt.time(r.started_at, "minute")} · deadline ${fmt.time(r.deadline, "minute")}`)),
        el("span", { class: "badge " + STATUS_CLASS[r.status], "data-status": r.status }, r.status.replace("_", " "))),
      el("p", { class: "sub" }, `Progress: ${r.sessions_control} control and ${r.sessions_canary} canary sessions of ${r.min_sessions_per_arm} needed per arm`),
      bar,
      r.error ? el("p", { class: "status-bad" }, "Deploy failed: " + r.error) : null,
      last ? el("p", { "data-decision": last.verdict }, el("strong", {}, "Latest decision: "), last.reason) : el("p", { class: "muted" }, "Not judged yet."),
      last && last.metrics.length ? el("div", { class: "table-wrap" }, metricsTable(last)) : null,
      decisions.length ? el("details", {}, el("summary", {}, `All ${decisions.length} decisions`), el("ol", {}, decisions)) : null);
  }

  const data = await FW.getJSON("api-deployments");
  const serving = data.versions.find((v) => v.state === "serving");
  const canary = data.versions.find((v) => v.state === "canary");
  const promoted = data.rollouts.filter((r) => r.status === "promoted").length;
  const rolledBack = data.rollouts.filter((r) => r.status === "rolled_back").length;
  document.getElementById("deploy-kpis").replaceChildren(
    kpi("Serving", serving ? serving.name : "none", serving ? `since ${fmt.time(serving.state_changed_at, "minute")}` : "register a version", serving ? "better" : ""),
    kpi("Canary", canary ? canary.name : "none", canary ? "judged on live telemetry" : "no canary running"),
    kpi("Promotions", String(promoted), "canaries promoted automatically", promoted ? "better" : ""),
    kpi("Rollbacks", String(rolledBack), "canaries rolled back automatically", rolledBack ? "worse" : ""));

  const hours = [...new Set(data.traffic.map((t) => t.hour))].sort();
  const names = [...new Set(data.traffic.map((t) => t.model_version))];
  FW.makeChart(document.querySelector("[data-chart=traffic]"), {
    type: "bar",
    data: {
      labels: hours.map((h) => fmt.time(h, "hour")),
      datasets: names.map((name) => ({
        label: name, backgroundColor: FW.versionColor(name), borderRadius: 3,
        data: hours.map((h) => { const row = data.traffic.find((t) => t.hour === h && t.model_version === name); return row ? row.events : 0; }),
      })),
    },
    options: { scales: { x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, maxTicksLimit: 12 } }, y: { stacked: true, beginAtZero: true, grid: { color: "#eef2f7" } } } },
  });

  const rollouts = document.getElementById("rollouts");
  rollouts.removeAttribute("data-loading");
  rollouts.replaceChildren(...(data.rollouts.length ? data.rollouts.map(rolloutPanel) : [el("div", { class: "panel muted" }, "No canary yet.")]));

  const head = el("tr", {}, ...["Version", "State", "Parent", "RL run", "Reward model", "Gate", "Artifact"].map((h) => el("th", {}, h)));
  const rows = data.versions.slice().reverse().map((v) => el("tr", { "data-version": v.name },
    el("td", {}, el("strong", {}, v.name)),
    el("td", {}, el("span", { class: "badge " + STATE_CLASS[v.state], "data-state": v.state }, v.state.replace("_", " "))),
    el("td", {}, v.parent || "–"), el("td", {}, v.rl_run_id || "–"), el("td", {}, v.reward_model_version || "–"),
    el("td", { title: v.gate_reasons.join("\n") }, v.gate_passed === null ? "–" : el("span", { class: "badge " + (v.gate_passed ? "better" : "worse") }, v.gate_passed ? "passed" : "refused"),
      v.gate_reasons.length ? el("div", { class: "muted", style: { fontSize: "12px", maxWidth: "420px" } }, v.gate_reasons.join(" · ")) : null),
    el("td", { class: "muted" }, el("code", {}, v.artifact))));
  const versions = document.getElementById("versions-table");
  versions.removeAttribute("data-loading");
  versions.replaceChildren(el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, rows)));
});
