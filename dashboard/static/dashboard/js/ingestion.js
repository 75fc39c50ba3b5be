/* Ingestion health: events per minute, consumer lag, dead letters (with replay), rejections. */
FW.page("ingestion", async () => {
  const { el, fmt } = FW;
  const REFRESH_MS = 15000;

  function kpi(label, value, sub, cls, extra) {
    return el("div", { class: "panel kpi " + (cls || ""), "data-kpi": label.toLowerCase().replace(/[^a-z]+/g, "-") },
      el("div", { class: "label" }, label), el("div", { class: "value" }, value), el("div", { class: "ci" }, sub), extra || null);
  }

  async function replay(button) {
    button.disabled = true;
    button.textContent = "Replaying…";
    try {
      const answer = await FW.postJSON(FW.config.replay);
      FW.toast(`Replay queued (${fmt.count(answer.dead_letters)} dead letters).`);
      setTimeout(load, 1500);
    } catch (err) {
      FW.toast("Replay failed: " + err.message);
      button.disabled = false;
      button.textContent = "Replay dead letters";
    }
  }

  async function load() {
    const data = await FW.getJSON("api-ingestion");
    const p = data.pipeline;
    const lagText = p.consumer_lag === null ? "unknown" : fmt.count(p.consumer_lag);
    const dlqText = p.dead_letters === null ? "unknown" : fmt.count(p.dead_letters);
    const replayButton = el("button", { class: "btn", type: "button", "data-action": "replay", disabled: !data.can_replay || !p.dead_letters, title: data.can_replay ? "Re-publish every unreplayed dead letter" : "Staff only" }, "Replay dead letters");
    replayButton.addEventListener("click", () => replay(replayButton));
    document.getElementById("health-kpis").replaceChildren(
      kpi("Events / minute", fmt.count(Math.round(data.events_per_minute)), `mean of the last 5 minutes · ${fmt.count(data.stored_in_window)} in ${data.window_minutes} min`, data.events_per_minute > 0 ? "better" : ""),
      kpi("Consumer lag", lagText, p.mode === "kafka" ? `messages behind on ${p.topic} (group ${p.consumer_group})` : "embedded bus: events are stored synchronously", p.consumer_lag ? "worse" : p.consumer_lag === 0 ? "better" : ""),
      kpi("Dead letters", dlqText, p.mode === "kafka" ? `unreplayed on ${p.dlq_topic}` : "unreplayed DeadLetter rows", p.dead_letters ? "worse" : "better", el("div", { style: { marginTop: "10px" } }, replayButton)),
      kpi("Rejected events", fmt.count(data.rejected_in_window), `last ${data.rejections_window_hours} h · ${data.rejections.length} reason(s)`, data.rejected_in_window ? "worse" : "better"));

    const minutes = data.per_minute;
    FW.makeChart(document.querySelector("[data-chart=events-per-minute]"), {
      type: "bar",
      data: { labels: minutes.map((m) => fmt.time(m.minute, "minute").split(", ").pop()), datasets: [{ label: "events stored", data: minutes.map((m) => m.stored), backgroundColor: "#6366f1cc", borderRadius: 3 }] },
      options: { plugins: { legend: { display: false } }, scales: { x: { grid: { display: false }, ticks: { maxTicksLimit: 12, maxRotation: 0 } }, y: { beginAtZero: true, grid: { color: "#eef2f7" } } } },
    });
    FW.makeChart(document.querySelector("[data-chart=rejections]"), {
      type: "bar",
      data: { labels: data.rejections.map((r) => r.reason), datasets: [{ label: "rejected events", data: data.rejections.map((r) => r.count), backgroundColor: "#ef4444cc", borderRadius: 4, maxBarThickness: 30 }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, grid: { color: "#eef2f7" }, ticks: { precision: 0 } }, y: { grid: { display: false } } } },
    });
    const status = p.error ? el("span", { class: "status-bad" }, p.error) : el("span", { class: "status-ok" }, "reachable");
    const pipelineRows = [
      ["Bus", p.mode === "kafka" ? "Apache Kafka" : "Embedded (in-process)"],
      ["Status", status],
      ["Topic", p.topic || "–"], ["Consumer group", p.consumer_group || "–"], ["Dead-letter topic", p.dlq_topic || "DeadLetter table"],
      ...p.partitions.map((q) => [`Partition ${q.partition}`, `end ${fmt.count(q.end)} · committed ${q.committed === null ? "none" : fmt.count(q.committed)} · lag ${fmt.count(q.backlog)}`]),
    ].map(([k, v]) => el("tr", {}, el("td", { class: "muted" }, k), el("td", {}, v)));
    document.getElementById("pipeline-table").replaceChildren(el("table", { class: "data" }, el("tbody", {}, pipelineRows)));
    const rejRows = data.rejections.map((r) => el("tr", { "data-reason": r.reason }, el("td", {}, el("code", {}, r.reason)), el("td", { class: "num" }, fmt.count(r.count))));
    document.getElementById("rejections-table").replaceChildren(el("table", { class: "data" },
      el("thead", {}, el("tr", {}, el("th", {}, "Reason"), el("th", { class: "num" }, "Events"))),
      el("tbody", {}, rejRows.length ? rejRows : el("tr", {}, el("td", { colspan: 2, class: "muted" }, "No rejected events.")))));
  }

  await load();
  setInterval(() => load().catch((err) => console.error(err)), REFRESH_MS);
});
