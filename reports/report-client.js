// The report page's own script, inlined by reports/report-html.ts after Chart.js (which defines
// the global `Chart`). It only draws: every series was computed in Node and embedded as JSON.
(() => {
  const Chart = globalThis.Chart;
  const data = JSON.parse(document.getElementById('mqfed-data').textContent);

  // One run: every series its own hue. Several runs: each run a hue family (blue, orange, green,
  // purple, rose, teal) and each of its series a shade in it, so a run reads as one colour and
  // its variants apart by shade and the legend. [design]
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
  const families = [
    ['#1d4ed8', '#60a5fa', '#1e3a8a', '#93c5fd', '#3b82f6'],
    ['#c2410c', '#fb923c', '#7c2d12', '#fdba74', '#ea580c'],
    ['#15803d', '#4ade80', '#14532d', '#86efac', '#22c55e'],
    ['#7e22ce', '#c084fc', '#581c87', '#d8b4fe', '#a855f7'],
    ['#be123c', '#fb7185', '#881337', '#fda4af', '#e11d48'],
    ['#0f766e', '#2dd4bf', '#134e4a', '#99f6e4', '#14b8a6'],
  ];
  const overlaid = data.runs > 1;
  const family = (run) => families[run % families.length];
  const colorOf = (run, index) =>
    overlaid ? family(run)[index % family(run).length] : palette[index % palette.length];
  const rgb = (hex) => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  const alpha = (hex, a) => `rgba(${rgb(hex).join(', ')}, ${a})`;
  /** The colour mixed toward black by `t` (0…1): a darker shade of the same hue. */
  const darker = (hex, t) =>
    `#${rgb(hex)
      .map((c) =>
        Math.round(c * (1 - t))
          .toString(16)
          .padStart(2, '0'),
      )
      .join('')}`;
  const ink = '#111827';

  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#1d2330';

  /** Few points (a short run) are drawn as dots on the line, so each second can be read. */
  const pointRadiusFor = (points) => (points.length <= 60 ? 3 : points.length <= 150 ? 1.5 : 0);

  const line = (label, points, color, extra) => ({
    label,
    data: points,
    borderColor: color,
    backgroundColor: color,
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

  // Legend entries of lines show the line itself, dashes included, so "sent" and "received" or
  // p50 and p99 of one colour tell apart; markers (handovers, faults) keep their shape.
  const legend = {
    position: 'bottom',
    labels: {
      boxWidth: 12,
      usePointStyle: true,
      pointStyleWidth: 28,
      // Datasets drawn behind others (`order`) keep their place in the legend.
      sort: (a, b) => a.datasetIndex - b.datasetIndex,
      generateLabels: (chart) =>
        Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item) => {
          const dataset = chart.data.datasets[item.datasetIndex];
          // With point styles on, Chart.js styles the entry from the first point, which has no
          // dash: take the line's own stroke.
          return dataset.showLine === false
            ? item
            : {
                ...item,
                pointStyle: 'line',
                strokeStyle: dataset.borderColor,
                lineWidth: Math.max(2, dataset.borderWidth ?? 2),
                lineDash: dataset.legendDash ?? dataset.borderDash ?? [],
              };
        }),
    },
  };

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
        plugins: { legend, ...plugins },
      },
      plugins: chartPlugins,
    });
  };

  // Error bars: Chart.js has none built in, so a small plugin draws them over bar charts. Each
  // dataset carries `intervals` (one per bar: estimate, lo, hi, n, each repetition's figure);
  // the whisker spans lo…hi and a dot marks each repetition. With one run there is no whisker:
  // its interval says nothing about noise. [design]
  const errorBars = {
    id: 'mqfedErrorBars',
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      const y = chart.scales.y;
      ctx.save();
      chart.data.datasets.forEach((dataset, i) => {
        if (!dataset.intervals || !chart.isDatasetVisible(i)) return;
        const meta = chart.getDatasetMeta(i);
        meta.data.forEach((bar, j) => {
          const point = dataset.intervals[j];
          if (!point) return;
          const half = Math.max(3, Math.min(9, bar.width * 0.3));
          if (point.n >= 2) {
            const top = y.getPixelForValue(point.hi);
            const bottom = y.getPixelForValue(point.lo);
            ctx.strokeStyle = ink;
            ctx.lineWidth = 1.5;
            ctx.beginPath();
            ctx.moveTo(bar.x, top);
            ctx.lineTo(bar.x, bottom);
            ctx.moveTo(bar.x - half, top);
            ctx.lineTo(bar.x + half, top);
            ctx.moveTo(bar.x - half, bottom);
            ctx.lineTo(bar.x + half, bottom);
            ctx.stroke();
          }
          // Repetitions side by side across the bar, so equal figures do not hide each other.
          const m = point.reps.length;
          const spread = Math.min(bar.width * 0.7, 6 * m);
          point.reps.forEach((value, k) => {
            const x = m === 1 ? bar.x : bar.x - spread / 2 + (spread * k) / (m - 1);
            ctx.beginPath();
            ctx.arc(x, y.getPixelForValue(value), 2.4, 0, 2 * Math.PI);
            ctx.fillStyle = 'rgba(255, 255, 255, 0.9)';
            ctx.fill();
            ctx.strokeStyle = darker(dataset.borderColor, 0.45);
            ctx.lineWidth = 1.2;
            ctx.stroke();
          });
        });
      });
      ctx.restore();
    },
  };

  /** Reference lines across a bar chart, labelled at the right: the paper's overhead. */
  const referenceLines = (lines) => ({
    id: 'mqfedReferenceLines',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const y = chart.scales.y;
      ctx.save();
      ctx.strokeStyle = ink;
      ctx.fillStyle = ink;
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.font = '11px system-ui, sans-serif';
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      for (const reference of lines) {
        const py = y.getPixelForValue(reference.value);
        if (py < chartArea.top || py > chartArea.bottom) continue;
        ctx.beginPath();
        ctx.moveTo(chartArea.left, py);
        ctx.lineTo(chartArea.right, py);
        ctx.stroke();
        ctx.fillText(reference.label, chartArea.right - 4, py - 2);
      }
      ctx.restore();
    },
  });

  /** Bars with error bars; `values` per series are interval points or plain numbers. */
  const drawBars = (id, categories, datasets, yTitle, options) => {
    const canvas = document.getElementById(id);
    if (canvas === null) return;
    const { references = [], unit = '' } = options ?? {};
    // Whiskers, dots and reference lines must fit: the axis reaches the highest of them.
    const ends = datasets.flatMap((d) =>
      (d.intervals ?? d.data.map((v) => (v === null ? null : { lo: v, hi: v, reps: [] }))).flatMap(
        (p) => (p ? [p.lo, p.hi, ...p.reps] : []),
      ),
    );
    const marks = [...ends, ...references.map((r) => r.value)];
    const top = Math.max(0, ...marks);
    const bottom = Math.min(0, ...marks);
    new Chart(canvas, {
      type: 'bar',
      data: { labels: categories, datasets },
      options: {
        interaction: { mode: 'nearest', intersect: true },
        scales: {
          x: { type: 'category' },
          y: axis(yTitle, {
            beginAtZero: true,
            suggestedMax: top * 1.08,
            suggestedMin: bottom * 1.08,
          }),
        },
        datasets: { bar: { maxBarThickness: 90 } },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: (item) => {
                const point = item.dataset.intervals?.[item.dataIndex];
                return point
                  ? `${item.dataset.label}: ${point.text}`
                  : `${item.dataset.label}: ${item.parsed.y.toFixed(2)}${unit}`;
              },
            },
          },
        },
      },
      plugins: [errorBars, referenceLines(references)],
    });
  };

  const bars = (label, values, color) => ({
    label,
    data: values.map((p) => (p === null ? null : p.estimate)),
    intervals: values,
    backgroundColor: alpha(color, 0.55),
    borderColor: color,
    borderWidth: 1.2,
  });

  // Overhead at p50 and p99 per run, with the paper's figure as a dashed line.
  drawBars(
    'chart-overhead',
    data.overhead.categories,
    data.overhead.series.map((s) => bars(s.label, s.values, family(s.run)[0])),
    'overhead (%)',
    {
      references: data.overhead.paper,
    },
  );

  // p50 and p99 per variant with intervals: p50 the light shade, p99 the dark one of the run.
  drawBars(
    'chart-intervals',
    data.intervals.categories,
    data.intervals.series.map((s) =>
      bars(s.label, s.values, family(s.run)[s.measure === 'p50' ? 1 : 0]),
    ),
    'delay (ms)',
  );

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
    data.percentiles.map((s) => line(s.label, s.points, colorOf(s.run, s.index))),
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
    data.cdf.map((s) => line(s.label, s.points, colorOf(s.run, s.index), { stepped: false })),
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
  data.delay.forEach((d) => {
    const color = colorOf(d.run, d.index);
    if (d.p50.length > 0) {
      delaySets.push(line(`${d.label} p50`, d.p50, color, { pointRadius: pointRadiusFor(d.p50) }));
    }
    if (d.p99.length > 0) {
      delaySets.push(
        line(`${d.label} p99`, d.p99, color, {
          borderDash: [6, 3],
          pointStyle: 'rect',
          pointRadius: pointRadiusFor(d.p99),
        }),
      );
    }
    if (d.handovers.length > 0) {
      delaySets.push({
        label: `${d.label} handovers`,
        data: d.handovers,
        showLine: false,
        pointStyle: 'triangle',
        pointRadius: 6,
        pointHoverRadius: 8,
        borderColor: color,
        backgroundColor: color,
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
        backgroundColor: color,
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

  // Throughput over time: sent and received are often equal, and variants often send at one
  // rate, so lines lie on each other. Sent is a wide pale band under everything; each received
  // line is dashed in a darker shade, its dashes offset from every other variant's, so lines
  // that coincide alternate their colours instead of hiding one another.
  const flows = data.throughput.length;
  draw(
    'chart-throughput',
    data.throughput.flatMap((t, k) => {
      const color = colorOf(t.run, t.index);
      // A triangle marks each second that received fewer than were sent.
      const short = (context) =>
        t.received[context.dataIndex]?.y < t.sent[context.dataIndex]?.y ? 5 : 0;
      return [
        line(`${t.label} sent`, t.sent, alpha(color, 0.45), {
          borderWidth: 6,
          // Dots on the band only for a short run, where each second must be read.
          pointRadius: t.sent.length <= 12 ? 3 : 0,
          pointBackgroundColor: color,
          order: 1,
        }),
        line(`${t.label} received`, t.received, darker(color, 0.3), {
          borderDash: flows === 1 ? [8, 4] : [8, 8 * (flows - 1) + 4],
          borderDashOffset: -8 * k,
          legendDash: [6, 3],
          borderWidth: 2,
          pointStyle: 'triangle',
          pointRadius: short,
          pointHoverRadius: 6,
          order: 0,
        }),
      ];
    }),
    {
      x: axis('time (s)', { beginAtZero: true }),
      y: axis('messages / s', { beginAtZero: true, grace: '8%' }),
    },
  );

  // Cost: CPU µs per delivered message, per service, one bar per variant.
  drawBars(
    'chart-cost',
    data.cost.categories,
    data.cost.series.map((s) => {
      const color = colorOf(s.run, s.index);
      return {
        label: s.label,
        data: s.values,
        backgroundColor: alpha(color, 0.6),
        borderColor: color,
        borderWidth: 1.2,
      };
    }),
    'CPU µs per delivered message',
    { unit: ' µs' },
  );

  // Handovers: CDFs of transfer time (solid) and first-message gap (dashed) per variant, in the
  // variant's colour, so the two figures of one variant read as a pair.
  draw(
    'chart-handover',
    data.handover.map((s) =>
      line(
        s.label,
        s.points,
        colorOf(s.run, s.index),
        s.figure === 'gap' ? { borderDash: [6, 4] } : {},
      ),
    ),
    {
      x: axis('time (ms)', { beginAtZero: true }),
      y: axis('fraction of moves', {
        min: 0,
        max: 1,
        ticks: { callback: (value) => `${Math.round(value * 100)}%` },
      }),
    },
  );

  // Services.
  draw(
    'chart-cpu',
    data.cpu.map((s) => line(s.label, s.points, colorOf(s.run, s.index))),
    {
      x: axis('time (s)', { beginAtZero: true }),
      y: axis('CPU (% of one core)', { beginAtZero: true }),
    },
  );
  draw(
    'chart-memory',
    data.memory.map((s) => line(s.label, s.points, colorOf(s.run, s.index))),
    { x: axis('time (s)', { beginAtZero: true }), y: axis('RSS (MiB)', { beginAtZero: true }) },
  );
})();
