/* Trends: each headline metric per version over time, with first-appearance markers. */
FW.page("trends", async () => {
  const { fmt } = FW;
  const params = FW.pageParams();
  const data = await FW.getJSON("api-trends", params);
  document.getElementById("json-link").href = FW.config.endpoints["api-trends"] + "?" + params.toString();
  const labels = data.buckets.map((b) => fmt.time(b, data.bucket));
  const times = data.buckets.map((b) => new Date(b).getTime());
  const bucketMs = data.bucket === "day" ? 86400000 : 3600000;
  const markers = data.markers.map((m) => {
    const t = new Date(m.first_seen).getTime();
    const index = times.findIndex((b) => t >= b && t < b + bucketMs);
    return index < 0 ? null : { index, label: m.model_version + " first seen", color: FW.versionColor(m.model_version) };
  }).filter(Boolean);

  data.metrics.forEach((metric, i) => {
    document.querySelector(`[data-chart-title="${i}"]`).textContent = metric.label;
    document.querySelector(`[data-chart-sub="${i}"]`).textContent = `${data.bucket === "day" ? "Daily" : "Hourly"} · ${metric.better === "higher" ? "higher" : "lower"} is better`;
    const datasets = [];
    data.series.forEach((s) => {
      const m = s.metrics[metric.key];
      const color = FW.versionColor(s.model_version);
      datasets.push({ label: s.model_version, data: m.value, borderColor: color, backgroundColor: color, pointRadius: data.buckets.length > 60 ? 0 : 2.5, borderWidth: 2, tension: 0.25, n: m.n, low: m.low, high: m.high });
      datasets.push({ label: s.model_version + " CI high", band: true, data: m.high, borderWidth: 0, pointRadius: 0, fill: "+1", backgroundColor: color + "22" });
      datasets.push({ label: s.model_version + " CI low", band: true, data: m.low, borderWidth: 0, pointRadius: 0, fill: false });
    });
    FW.makeChart(document.querySelector(`[data-chart="trend-${i}"]`), {
      type: "line",
      data: { labels, datasets },
      options: {
        interaction: { mode: "index", intersect: false },
        clip: 4,
        plugins: {
          legend: { position: "bottom", labels: { filter: (item, chartData) => !chartData.datasets[item.datasetIndex].band } },
          tooltip: {
            filter: (item) => !item.dataset.band && item.raw !== null,
            callbacks: {
              label(ctx) {
                const ds = ctx.dataset, j = ctx.dataIndex;
                const ci = ds.low[j] === null ? "" : ` (95% CI ${fmt.value(metric, ds.low[j])} – ${fmt.value(metric, ds.high[j])})`;
                return `${ds.label}: ${fmt.value(metric, ctx.raw)}${ci}, n = ${fmt.count(ds.n[j])}`;
              },
            },
          },
          versionMarkers: { markers },
        },
        scales: { y: FW.valueAxis(metric, FW.valueBounds(metric, data.series.flatMap((s) => s.metrics[metric.key].value))), x: { grid: { display: false }, ticks: { maxTicksLimit: 10, maxRotation: 0 } } },
      },
    });
  });
});
