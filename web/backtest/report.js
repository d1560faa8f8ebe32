/*
 * The backtest report's charts, drawn with uPlot (inlined before this script) from the JSON embedded in
 * #backtest-data. Everything else on the page is rendered by mailbox-radar; this script adds no markup
 * from the data — legend labels and captions are set as text by uPlot and here.
 */
'use strict';

(() => {
  const PALETTE = [
    '#1f6feb',
    '#d97706',
    '#16a34a',
    '#9333ea',
    '#0891b2',
    '#db2777',
    '#65a30d',
    '#b45309',
    '#4f46e5',
    '#0d9488',
    '#c026d3',
    '#ca8a04',
  ];
  const DEFAULT_COLOR = '#111827';
  const DAY = 86_400; // seconds

  const data = JSON.parse(document.getElementById('backtest-data').textContent);

  /** One series per setting: the configured settings in black and thicker, the others in turn. */
  function series(fill) {
    let next = 0;
    return data.settings.map((setting) => {
      const color = setting.isDefault ? DEFAULT_COLOR : PALETTE[next++ % PALETTE.length];
      return {
        label: setting.label,
        stroke: color,
        width: setting.isDefault ? 2.5 : 1.5,
        ...(fill === undefined ? {} : { paths: fill }),
      };
    });
  }

  function width(container) {
    return Math.max(320, Math.min(1100, container.clientWidth || document.body.clientWidth - 48));
  }

  const axis = { grid: { stroke: '#e5e7eb' }, ticks: { stroke: '#e5e7eb' } };

  function dailyChart() {
    const container = document.getElementById('daily-chart');
    if (data.days.length === 0) {
      container.textContent = 'No records.';
      return;
    }
    new uPlot(
      {
        width: width(container),
        height: 280,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] } },
        legend: { live: false },
        axes: [axis, { ...axis, label: 'alerts', size: 60 }],
        series: [{ label: 'day (UTC)' }, ...series()],
      },
      // A single day gets a day either side, empty, for an axis to stand on.
      data.days.length === 1
        ? [
            [data.days[0] - DAY, data.days[0], data.days[0] + DAY],
            ...data.daily.map((counts) => [null, counts[0], null]),
          ]
        : [data.days, ...data.daily],
      container,
    );
  }

  function peakCharts() {
    const stepped = uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
    for (const container of document.querySelectorAll('.peak-chart')) {
      const curve = data.peaks[container.dataset.rule];
      if (curve === undefined) continue;
      new uPlot(
        {
          width: width(container),
          height: 240,
          scales: {
            x: { time: false, range: (u, min, max) => [0, Math.max(1, max) * 1.05] },
            y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] },
          },
          legend: { live: false },
          axes: [
            { ...axis, label: 'peak count' },
            { ...axis, label: 'keys at or above', size: 60 },
          ],
          series: [{ label: 'peak' }, ...series(stepped)],
        },
        [curve.x, ...curve.y],
        container,
      );
    }
  }

  /**
   * Alerts per name by rank (the tables name them): a bar per setting, side by side within a rank. Each
   * setting's bars stand at their own x (rank − 0.4 + its slot), and are null at the others'.
   */
  function topCharts() {
    const n = data.settings.length;
    const slot = 0.8 / n;
    for (const container of document.querySelectorAll('.top-chart')) {
      const top = data.top[container.dataset.what];
      if (top === undefined || top.names.length === 0) continue;
      const ranks = top.names.length;
      const xs = [];
      const ys = data.settings.map(() => []);
      for (let r = 1; r <= ranks; r++)
        for (let i = 0; i < n; i++) {
          xs.push(r - 0.4 + slot * (i + 0.5));
          ys.forEach((column, j) => column.push(j === i ? top.counts[i][r - 1] : null));
        }
      new uPlot(
        {
          width: width(container),
          height: 220,
          scales: {
            x: { time: false, range: () => [0.5, ranks + 0.5] },
            y: { range: (u, min, max) => [0, Math.max(1, max) * 1.1] },
          },
          legend: { live: false },
          axes: [
            {
              ...axis,
              label: 'rank',
              incrs: [1],
              values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? v : '')),
            },
            { ...axis, label: 'alerts', size: 60 },
          ],
          series: [
            { label: 'rank' },
            ...series().map((s) => ({
              ...s,
              fill: s.stroke,
              points: { show: false },
              paths: uPlot.paths.bars({ size: [0.9, Infinity], align: 0 }),
            })),
          ],
        },
        [xs, ...ys],
        container,
      );
    }
  }

  dailyChart();
  peakCharts();
  topCharts();
})();
