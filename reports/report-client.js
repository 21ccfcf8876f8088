// The report page's own script, inlined by reports/report-html.ts after Chart.js (which defines
// the global `Chart`). It only draws: every series was computed in Node and embedded as JSON.
(() => {
  const Chart = globalThis.Chart;
  const data = JSON.parse(document.getElementById('mqfed-data').textContent);

  const palette = [
    '#2563eb',
    '#dc2626',
    '#16a34a',
    '#9333ea',
    '#ea580c',
    '#0891b2',
    '#ca8a04',
    '#db2777',
    '#4b5563',
    '#65a30d',
  ];
  const color = (i) => palette[i % palette.length];

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#1d2330';

  const line = (label, points, i, extra) => ({
    label,
    data: points,
    borderColor: color(i),
    backgroundColor: color(i),
    borderWidth: 1.8,
    pointRadius: 0,
    pointHitRadius: 6,
    ...extra,
  });

  const axis = (title, extra) => ({
    type: 'linear',
    title: { display: true, text: title },
    ...extra,
  });

  const draw = (id, datasets, scales, more) => {
    const canvas = document.getElementById(id);
    if (canvas === null) return; // the page showed "no data" instead
    const { plugins = {}, chartPlugins = [] } = more ?? {};
    new Chart(canvas, {
      type: 'line',
      data: { datasets },
      options: {
        parsing: false,
        normalized: true,
        interaction: { mode: 'nearest', intersect: false },
        scales,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } }, ...plugins },
      },
      plugins: chartPlugins,
    });
  };

  // Percentile distribution: x = 1/(1 − p) on a log axis, labelled as percentiles.
  const percentileTicks = [
    [2, '50%'],
    [10, '90%'],
    [100, '99%'],
    [1e3, '99.9%'],
    [1e4, '99.99%'],
    [1e5, '99.999%'],
  ];
  const percentileLabel = (x) => {
    for (const [at, label] of percentileTicks) {
      if (Math.abs(Math.log10(x) - Math.log10(at)) < 1e-6) return label;
    }
    return null;
  };
  const percentileOf = (x) => `${(100 * (1 - 1 / x)).toFixed(3)} %`;
  draw(
    'chart-percentiles',
    data.percentiles.map((s, i) => line(s.label, s.points, i)),
    {
      x: {
        type: 'logarithmic',
        min: 1,
        title: { display: true, text: 'percentile' },
        ticks: { autoSkip: false, maxRotation: 0, callback: (value) => percentileLabel(value) },
        afterBuildTicks: (scale) => {
          scale.ticks = percentileTicks
            .filter(([at]) => at >= scale.min && at <= scale.max)
            .map(([at]) => ({ value: at }));
        },
      },
      y: axis('delay (ms)', { beginAtZero: true }),
    },
    {
      plugins: {
        tooltip: {
          callbacks: {
            title: (items) => (items.length > 0 ? `p = ${percentileOf(items[0].parsed.x)}` : ''),
            label: (item) => `${item.dataset.label}: ${item.parsed.y.toFixed(3)} ms`,
          },
        },
      },
    },
  );

  // CDF of delay.
  draw(
    'chart-cdf',
    data.cdf.map((s, i) => line(s.label, s.points, i, { stepped: false })),
    {
      x: axis('delay (ms)', { beginAtZero: true }),
      y: axis('fraction of messages', {
        min: 0,
        max: 1,
        ticks: { callback: (value) => `${Math.round(value * 100)}%` },
      }),
    },
  );

  // Delay over time, with handovers as triangles on the axis and dashed vertical lines, and faults
  // on brokers as diamonds and solid near-black lines labelled at the top ("kill b"): a fault
  // cuts several paths at once, so it must read apart from a single client's move. [design] The
  // palette holds every hue, so only near-black stays apart from every variant's colour.
  const handoverXs = data.delay.flatMap((d) => d.handovers.map((h) => h.x));
  const faults = data.delay.flatMap((d) => d.faults);
  const faultInk = '#111827';
  const handoverLines = {
    id: 'mqfedHandoverLines',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.strokeStyle = 'rgba(75, 85, 99, 0.45)';
      ctx.setLineDash([4, 4]);
      ctx.lineWidth = 1;
      for (const x of handoverXs) {
        const px = scales.x.getPixelForValue(x);
        if (px < chartArea.left || px > chartArea.right) continue;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
      }
      ctx.restore();
    },
  };
  const faultLines = {
    id: 'mqfedFaultLines',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.strokeStyle = faultInk;
      ctx.fillStyle = faultInk;
      ctx.lineWidth = 1.5;
      ctx.font = '11px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      // Labels of faults close in time (one per variant, or a quick kill and restart) go on
      // further rows instead of overprinting: each row remembers where its last label ended.
      const rowEnds = [];
      for (const fault of [...faults].sort((a, b) => a.x - b.x)) {
        const px = scales.x.getPixelForValue(fault.x);
        if (px < chartArea.left || px > chartArea.right) continue;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        const width = ctx.measureText(fault.label).width;
        // Near the right edge the label goes left of its line, so it stays in the plot.
        const left = px + 3 + width > chartArea.right ? px - 3 - width : px + 3;
        let row = rowEnds.findIndex((end) => end < left);
        if (row === -1) row = rowEnds.push(0) - 1;
        rowEnds[row] = left + width + 4;
        ctx.fillText(fault.label, left, chartArea.top + 2 + 13 * row);
      }
      ctx.restore();
    },
  };
  const delaySets = [];
  data.delay.forEach((d, i) => {
    if (d.p50.length > 0) delaySets.push(line(`${d.label} p50`, d.p50, i));
    if (d.p99.length > 0) {
      delaySets.push(line(`${d.label} p99`, d.p99, i, { borderDash: [6, 3] }));
    }
    if (d.handovers.length > 0) {
      delaySets.push({
        label: `${d.label} handovers`,
        data: d.handovers,
        showLine: false,
        pointStyle: 'triangle',
        pointRadius: 6,
        pointHoverRadius: 8,
        borderColor: color(i),
        backgroundColor: color(i),
        markerKind: 'handover',
      });
    }
    if (d.faults.length > 0) {
      delaySets.push({
        label: `${d.label} faults`,
        data: d.faults,
        showLine: false,
        pointStyle: 'rectRot',
        pointRadius: 7,
        pointHoverRadius: 9,
        borderColor: faultInk,
        borderWidth: 2,
        backgroundColor: color(i),
        markerKind: 'fault',
      });
    }
  });
  draw(
    'chart-delay',
    delaySets,
    { x: axis('time (s)', { beginAtZero: true }), y: axis('delay (ms)', { beginAtZero: true }) },
    {
      chartPlugins: [handoverLines, faultLines],
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => {
              const kind = item.dataset.markerKind;
              if (kind === 'fault') return `fault ${item.raw.text}`;
              if (kind === 'handover') return `handover ${item.raw.text}`;
              return `${item.dataset.label}: ${item.parsed.y.toFixed(3)} ms`;
            },
          },
        },
      },
    },
  );

  // Throughput over time: sent solid, received dashed.
  draw(
    'chart-throughput',
    data.throughput.flatMap((t, i) => [
      line(`${t.label} sent`, t.sent, i),
      line(`${t.label} received`, t.received, i, { borderDash: [6, 3] }),
    ]),
    {
      x: axis('time (s)', { beginAtZero: true }),
      y: axis('messages / s', { beginAtZero: true }),
    },
  );

  // Services.
  draw(
    'chart-cpu',
    data.cpu.map((s, i) => line(s.label, s.points, i)),
    {
      x: axis('time (s)', { beginAtZero: true }),
      y: axis('CPU (% of one core)', { beginAtZero: true }),
    },
  );
  draw(
    'chart-memory',
    data.memory.map((s, i) => line(s.label, s.points, i)),
    { x: axis('time (s)', { beginAtZero: true }), y: axis('RSS (MiB)', { beginAtZero: true }) },
  );
})();
