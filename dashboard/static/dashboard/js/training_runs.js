/* Training runs: status, live metric curves, lineage, logs tail, stop (staff). */
FW.page("training-runs", async () => {
  const { el, fmt } = FW;
  const STATUS_CLASS = { succeeded: "better", failed: "worse", stopped: "worse", running: "", queued: "" };
  const LIVE = new Set(["queued", "running"]);
  const num = (v, d) => (v === null || v === undefined ? "–" : Number(v).toFixed(d === undefined ? 3 : d));
  let selectedId = new URLSearchParams(window.location.search).get("run");
  let timer = null;

  function kpi(key, label, value, sub, cls) {
    return el("div", { class: "panel kpi " + (cls || ""), "data-kpi": key },
      el("div", { class: "label" }, label), el("div", { class: "value" }, value), el("div", { class: "ci" }, sub));
  }

  function curve(run, key) { return ((run.metrics || {})[key] || []).map(([step, value]) => ({ x: step, y: value })); }

  function drawCharts(run) {
    const rewardKeys = Object.keys(run.metrics || {}).filter((k) => k.startsWith("reward/")).sort();
    const rewardSets = rewardKeys.map((k, i) => ({ label: k, data: curve(run, k), borderColor: FW.PALETTE[i % FW.PALETTE.length],
      borderWidth: k === "reward/mean" ? 3 : 1.5, pointRadius: 0, tension: 0.2 }));
    const lossSets = ["loss/policy", "clip/fraction", "entropy"].map((k, i) => ({ label: k, data: curve(run, k),
      borderColor: FW.PALETTE[(i + 3) % FW.PALETTE.length], pointRadius: 0, tension: 0.2 }));
    const axes = { x: { type: "linear", title: { display: true, text: "step" }, grid: { display: false } }, y: { grid: { color: "#eef2f7" } } };
    FW.makeChart(document.querySelector("[data-chart=reward]"), { type: "line", data: { datasets: rewardSets }, options: { animation: false, scales: axes } });
    FW.makeChart(document.querySelector("[data-chart=loss]"), { type: "line", data: { datasets: lossSets }, options: { animation: false, scales: axes } });
  }

  async function stop(run, button) {
    button.disabled = true;
    try {
      const answer = await FW.postJSON(FW.config.endpoints["api-training-runs"] + "/" + run.id + "/stop");
      FW.toast(`Run ${run.id.slice(0, 8)}: ${answer.status}${answer.stop_requested && answer.status === "running" ? " (stopping)" : ""}`);
      await refresh();
    } catch (error) {
      FW.toast(error.message, "error");
      button.disabled = false;
    }
  }

  function render(data) {
    const run = data.selected;
    if (!run) {
      document.getElementById("run-kpis").replaceChildren(kpi("status", "Runs", "none", "start one with manage.py rl_train"));
      FW.showState(document.getElementById("reward-box"), "empty", "No training runs yet.");
      document.getElementById("runs-table").replaceChildren();
      return;
    }
    selectedId = run.id;
    const last = run.last_metrics || {};
    const stopButton = el("button", { class: "btn", type: "button", "data-action": "stop", disabled: !data.can_stop || !LIVE.has(run.status) || run.stop_requested,
      title: data.can_stop ? "Stop this run (its last complete checkpoint stays)" : "Staff only" }, run.stop_requested && LIVE.has(run.status) ? "Stopping…" : "Stop run");
    stopButton.addEventListener("click", () => stop(run, stopButton));
    document.getElementById("run-kpis").replaceChildren(
      kpi("status", "Status", run.status, `${run.backend === "ray_job" ? "Ray job " + run.submission_id : "local Ray"} · ${run.trigger}`, STATUS_CLASS[run.status]),
      kpi("progress", "Progress", Math.round(run.progress * 100) + "%", `step ${run.step} of ${run.total_steps}`),
      kpi("reward", "Mean reward", num(last["reward/mean"]), `loss/policy ${num(last["loss/policy"], 4)} · clip ${num(last["clip/fraction"], 3)}`),
      kpi("checkpoint", "Checkpoint", run.artifacts && run.artifacts.checkpoint_dir ? run.artifacts.checkpoint_dir.split("/").slice(-1)[0] : "–",
        run.result && run.result.heldout_success_after !== undefined && run.result.heldout_success_after !== null ? `held-out success ${num(run.result.heldout_success_after, 2)}` : (run.error ? run.error.split("\n")[0].slice(0, 80) : "")));
    document.querySelector("[data-kpi=status]").appendChild(el("div", { style: { marginTop: "10px" } }, stopButton));
    drawCharts(run);
    const lineage = run.lineage;
    const rows = [["Dataset snapshot", lineage.dataset_snapshot_id], ["Reward model", lineage.reward_model_version], ["Parent policy", lineage.parent_policy],
      ["Group size", lineage.config.group_size], ["Prompts per step", lineage.config.prompts_per_step], ["Learning rate", lineage.config.learning_rate],
      ["Clip ratios", `${lineage.config.clip_ratio_low} / ${lineage.config.clip_ratio_high}`], ["Fine-tuning", lineage.config.lora ? `LoRA r=${lineage.config.lora.rank}` : "full"]];
    document.getElementById("run-lineage").replaceChildren(el("table", { class: "data", "data-lineage": "" }, el("tbody", {},
      ...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v === null || v === undefined || v === "" ? "–" : el("code", {}, String(v))))))));
    document.getElementById("run-logs").textContent = run.logs_tail || "(no log lines yet)";
    const head = el("tr", {}, ...["Run", "Status", "Progress", "Reward", "Trigger", "Snapshot", "Created"].map((h) => el("th", {}, h)));
    const body = data.runs.map((r) => {
      const link = el("a", { href: "?run=" + r.id + (FW.config.org ? "&org=" + FW.config.org : "") }, r.id.slice(0, 8));
      return el("tr", { "data-row": r.id, class: r.id === run.id ? "selected" : "" },
        el("td", {}, link), el("td", {}, el("span", { class: "badge " + (STATUS_CLASS[r.status] || ""), "data-status": r.status }, r.status)),
        el("td", { class: "num" }, `${r.step}/${r.total_steps}`), el("td", { class: "num" }, num((r.last_metrics || {})["reward/mean"])),
        el("td", {}, r.trigger), el("td", {}, r.lineage.dataset_snapshot_id || "–"), el("td", {}, fmt.time(r.created_at)));
    });
    document.getElementById("runs-table").replaceChildren(el("table", { class: "data" }, el("thead", {}, head), el("tbody", {}, body)));
    clearTimeout(timer);
    if (LIVE.has(run.status)) timer = setTimeout(refresh, 3000);  // live curves while it trains
  }

  async function refresh() {
    render(await FW.getJSON("api-training-runs", FW.pageParams({ run: selectedId })));
  }
  await refresh();
});
