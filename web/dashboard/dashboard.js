/*
 * The dashboard page. State comes from /events (server-sent events): a `snapshot` first (and again after a
 * reconnect), then `alert` (an alert's entry as it is now), `health` (one read of the pipeline's metrics)
 * and `status` (the feed). Filters and the selected alert live here only, never in the URL.
 *
 * Every value from an alert reaches the page as text (textContent, text nodes): never as markup.
 */
'use strict';

(() => {
  const MAX_ROWS = 500;
  const SWEEPS = new Set(['mailbox_sweep', 'app_mailbox_sweep']);
  const PALETTE = [
    '#4e9af1',
    '#f0b429',
    '#e5484d',
    '#3ccf7a',
    '#b57edc',
    '#f07c3a',
    '#4fd1c5',
    '#d6d6d6',
    '#9f7aea',
    '#ed64a6',
    '#a3e635',
    '#f6ad55',
  ];

  const state = {
    settings: { rules: [], severities: [], recordSeries: [], historyMs: 0, metrics: 0 },
    status: undefined,
    alerts: new Map(), // alert_id → { alert_id, current, revisions }
    health: [],
    selected: undefined,
    filters: { rule: '', severity: '', actor: '', mailbox: '' },
  };

  const byId = (id) => document.getElementById(id);

  /** An element with text and children; strings become text nodes. */
  function el(tag, options = {}, ...children) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = String(options.text);
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function isoTime(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
    return new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z';
  }

  function duration(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '—';
    const units = [
      ['d', 86_400_000],
      ['h', 3_600_000],
      ['m', 60_000],
      ['s', 1_000],
    ];
    for (const [unit, size] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
    return `${ms}ms`;
  }

  /** A severity only as a known class name. */
  function severityClass(severity) {
    return state.settings.severities.includes(severity) ? `sev-${severity}` : '';
  }

  /** The policy field, whatever shape a later schema gives it: a name, a record with a name, or JSON. */
  function policyText(policy) {
    if (policy === undefined || policy === null) return '';
    if (typeof policy === 'string') return policy;
    if (typeof policy === 'object' && typeof policy.name === 'string') return policy.name;
    return JSON.stringify(policy);
  }

  function mailboxText(alert) {
    if (SWEEPS.has(alert.rule)) return `${alert.distinct_mailbox_count} mailboxes`;
    return alert.mailbox_owner_upn || alert.mailbox_guid || '—';
  }

  function countText(alert) {
    if (SWEEPS.has(alert.rule))
      return `${alert.distinct_mailbox_count}/${alert.threshold} mailboxes (${alert.event_count} reads)`;
    return `${alert.event_count}/${alert.threshold}`;
  }

  function statusText(alert) {
    if (alert.status === undefined || alert.status === null) return '';
    return typeof alert.revision === 'number' ? `${alert.status} (r${alert.revision})` : String(alert.status);
  }

  // ---- the list ------------------------------------------------------------------------------------------

  function matches(entry) {
    const a = entry.current;
    const f = state.filters;
    if (f.rule && a.rule !== f.rule) return false;
    if (f.severity && a.severity !== f.severity) return false;
    if (f.actor) {
      const text = `${a.actor_user_id} ${a.actor_display_name ?? ''} ${a.actor_sid ?? ''}`.toLowerCase();
      if (!text.includes(f.actor.toLowerCase())) return false;
    }
    if (f.mailbox) {
      const text = [a.mailbox_owner_upn, a.mailbox_guid, ...(a.mailboxes ?? [])].join(' ').toLowerCase();
      if (!text.includes(f.mailbox.toLowerCase())) return false;
    }
    return true;
  }

  function newestFirst(a, b) {
    return b.current.detected_at - a.current.detected_at || a.alert_id.localeCompare(b.alert_id);
  }

  function row(entry) {
    const a = entry.current;
    const tr = el(
      'tr',
      {
        className: [severityClass(a.severity), entry.alert_id === state.selected ? 'selected' : ''].join(' '),
      },
      el('td', { className: 'time', text: isoTime(a.detected_at) }),
      el(
        'td',
        { className: 'severity' },
        el('span', { className: `badge ${severityClass(a.severity)}`, text: a.severity }),
      ),
      el('td', { className: 'rule', text: a.rule }),
      el('td', { className: 'status', text: statusText(a) }),
      el('td', { className: 'mailbox', text: mailboxText(a) }),
      el(
        'td',
        { className: 'actor' },
        el('span', { className: 'actor-id', text: a.actor_user_id }),
        a.actor_display_name
          ? el('span', { className: 'secondary display-name', text: a.actor_display_name })
          : undefined,
      ),
      el('td', { className: 'count', text: countText(a) }),
      el('td', { className: 'policy', text: policyText(a.policy) }),
    );
    tr.tabIndex = 0;
    tr.addEventListener('click', () => select(entry.alert_id));
    tr.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        select(entry.alert_id);
      }
    });
    return tr;
  }

  function renderList() {
    const all = [...state.alerts.values()];
    const shown = all.filter(matches).sort(newestFirst);
    byId('alerts').tBodies[0].replaceChildren(...shown.slice(0, MAX_ROWS).map(row));
    const more = shown.length > MAX_ROWS ? ` (the newest ${MAX_ROWS} listed)` : '';
    byId('count').textContent = `${shown.length} of ${all.length} alerts${more}`;
  }

  // ---- the detail ----------------------------------------------------------------------------------------

  const KNOWN_FIELDS = new Set([
    'alert_id',
    'rule',
    'severity',
    'organization_id',
    'mailbox_guid',
    'mailbox_owner_upn',
    'actor_user_id',
    'actor_sid',
    'actor_display_name',
    'actor_domain',
    'first_seen',
    'last_seen',
    'detected_at',
    'event_count',
    'distinct_mailbox_count',
    'threshold',
    'window_ms',
    'external_access_seen',
    'sample_record_ids',
    'client_ips',
    'operations',
    'mailboxes',
    'mailbox_blind_until',
    'reason',
    'status',
    'revision',
    'policy',
  ]);

  function list(id, items) {
    const ul = el('ul');
    ul.id = id;
    for (const item of items) ul.append(el('li', { className: 'mono', text: item }));
    return ul;
  }

  function select(id) {
    state.selected = id;
    renderList();
    renderDetail();
  }

  function renderDetail() {
    const aside = byId('detail');
    const entry = state.selected === undefined ? undefined : state.alerts.get(state.selected);
    if (entry === undefined) {
      aside.hidden = true;
      byId('detail-body').replaceChildren();
      return;
    }
    const a = entry.current;
    const facts = el('dl');
    const fact = (label, value, id) => {
      if (value === undefined || value === null || value === '') return;
      const dd = el('dd', { text: value });
      if (id) dd.id = id;
      facts.append(el('dt', { text: label }), dd);
    };
    fact('Alert id', a.alert_id, 'detail-id');
    fact('Status', statusText(a), 'detail-status');
    fact('Policy', policyText(a.policy), 'detail-policy');
    fact('Mailbox', SWEEPS.has(a.rule) ? mailboxText(a) : a.mailbox_owner_upn);
    fact('Mailbox GUID', a.mailbox_guid);
    fact('Actor', a.actor_user_id, 'detail-actor');
    fact('Display name', a.actor_display_name, 'detail-display-name');
    fact('Actor SID', a.actor_sid);
    fact('Actor domain', a.actor_domain);
    fact('Count', `${countText(a)} within ${duration(a.window_ms)}`);
    fact('First seen', isoTime(a.first_seen));
    fact('Last seen', isoTime(a.last_seen));
    fact('Detected', isoTime(a.detected_at));
    fact('External access', a.external_access_seen ? 'seen' : 'no');
    fact('Reason', a.reason);
    if (typeof a.mailbox_blind_until === 'number')
      fact('Mailbox blind until', isoTime(a.mailbox_blind_until));
    fact('Tenant', a.organization_id);
    for (const [key, value] of Object.entries(a))
      if (!KNOWN_FIELDS.has(key) && value !== null && value !== undefined)
        fact(key, typeof value === 'string' ? value : JSON.stringify(value));

    const operations = el('table');
    operations.id = 'detail-operations';
    for (const op of a.operations ?? [])
      operations.append(
        el('tr', {}, el('td', { text: op.operation }), el('td', { className: 'mono', text: op.count })),
      );

    const parts = [
      el(
        'h2',
        {},
        el('span', { className: `badge ${severityClass(a.severity)}`, text: a.severity }),
        ` ${a.rule}`,
      ),
      facts,
      el('h3', { text: `Sample records (${(a.sample_record_ids ?? []).length})` }),
      list('detail-samples', a.sample_record_ids ?? []),
      el('h3', { text: 'Client IPs' }),
      list('detail-ips', a.client_ips ?? []),
      el('h3', { text: 'Operations' }),
      operations,
      el('h3', { text: `Mailboxes (${(a.mailboxes ?? []).length})` }),
      list('detail-mailboxes', a.mailboxes ?? []),
    ];
    if (entry.revisions.length > 1 || typeof a.revision === 'number') {
      const history = el(
        'table',
        {},
        el(
          'tr',
          {},
          ...['Revision', 'Status', 'Severity', 'Count', 'Mailboxes', 'Last seen'].map((h) =>
            el('th', { text: h }),
          ),
        ),
      );
      history.id = 'detail-history';
      for (const r of [...entry.revisions].reverse())
        history.append(
          el(
            'tr',
            {},
            el('td', { className: 'mono', text: typeof r.revision === 'number' ? r.revision : '—' }),
            el('td', { text: r.status ?? '' }),
            el('td', { text: r.severity }),
            el('td', { className: 'mono', text: `${r.event_count}/${r.threshold}` }),
            el('td', { className: 'mono', text: r.distinct_mailbox_count }),
            el('td', { className: 'mono', text: isoTime(r.last_seen) }),
          ),
        );
      parts.push(el('h3', { text: `History (${entry.revisions.length} revisions)` }), history);
    }
    byId('detail-body').replaceChildren(...parts);
    aside.hidden = false;
  }

  // ---- charts --------------------------------------------------------------------------------------------

  const charts = new Map(); // container id → { plot, keys }

  /** uPlot's axis and legend date templates, as UTC reads best: 24-hour clock, year-month-day. */
  function isoTemplate(template) {
    return template
      .replaceAll('{M}/{D}/{YY}', '{YYYY}-{MM}-{DD}')
      .replaceAll('{M}/{D}', '{MM}-{DD}')
      .replaceAll('{h}:{mm}{aa}', '{HH}:{mm}')
      .replaceAll('{h}{aa}', '{HH}:00');
  }

  /**
   * A series' label: a partition of the activity topic is `activity[n]`, of the sweep's repartition topic
   * `repartition[n]` (their names are long); anything else as it is.
   */
  function label(key) {
    const match = /^(.*)\[(\d+)\]$/.exec(key);
    if (match === null) return key;
    if (match[1] === state.settings.activityTopic) return `activity[${match[2]}]`;
    if (match[1].endsWith('-mailbox-sweep-repartition')) return `repartition[${match[2]}]`;
    return key;
  }

  /**
   * Draws `series` (name → values over `xs`, seconds) in the container; a new set of names redraws it.
   * `bars`: stacked bars `bars` seconds wide (uPlot stacks nothing itself: each series is drawn as the sum
   * of itself and those before it, the tallest first, so each shows as its own band).
   */
  function draw(id, xs, series, bars) {
    const container = byId(id);
    const names = Object.keys(series);
    container.dataset.points = String(xs.length);
    container.dataset.series = names.join(',');
    if (typeof uPlot === 'undefined') return;
    const keys = names.join('\n');
    let chart = charts.get(id);
    if (chart !== undefined && chart.keys !== keys) {
      chart.plot.destroy();
      chart = undefined;
    }
    let order = names.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length], values: series[name] }));
    if (bars !== undefined) {
      let sum = xs.map(() => 0);
      order = order.map((s) => {
        sum = sum.map((v, i) => v + (s.values[i] ?? 0));
        return { ...s, values: sum.map((v) => (v === 0 ? null : v)) };
      });
      order.reverse();
    }
    const data = [xs, ...order.map((s) => s.values)];
    if (chart === undefined) {
      container.replaceChildren();
      const axis = { stroke: '#8a94a6', grid: { stroke: '#2a3341' }, ticks: { stroke: '#2a3341' } };
      const plot = new uPlot(
        {
          width: Math.max(300, container.clientWidth),
          height: 200,
          tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
          fmtDate: (template) => uPlot.fmtDate(isoTemplate(template)),
          scales: {
            x: {
              time: true,
              range: bars === undefined ? undefined : (u, min, max) => [min - bars / 2, max + bars / 2],
            },
          },
          legend: { live: false },
          axes: [axis, { ...axis, size: 60 }],
          series: [
            {},
            ...order.map((s) => ({
              label: label(s.name),
              stroke: s.color,
              width: 1.5,
              spanGaps: false,
              ...(bars === undefined
                ? {}
                : { fill: s.color, paths: uPlot.paths.bars({ size: [0.8, 40] }), points: { show: false } }),
            })),
          ],
        },
        data,
        container,
      );
      charts.set(id, { plot, keys });
    } else chart.plot.setData(data);
  }

  /** Alerts per rule, counted in buckets of detection time sized to the span (at most about 120). */
  function drawAlerts() {
    const times = [...state.alerts.values()].map((e) => e.current.detected_at / 1000);
    const now = Date.now() / 1000;
    const from = times.length > 0 ? Math.min(...times) : now - state.settings.historyMs / 1000;
    const to = times.length > 0 ? Math.max(...times) : now;
    const sizes = [60, 300, 900, 3600, 6 * 3600, 86400];
    const size = sizes.find((s) => (to - from) / s <= 120) ?? 86400;
    const start = Math.floor(from / size) * size;
    const count = Math.floor((to - start) / size) + 1;
    const xs = Array.from({ length: count }, (_, i) => start + i * size);
    const series = {};
    for (const rule of state.settings.rules) series[rule] = new Array(count).fill(0);
    for (const entry of state.alerts.values()) {
      const at = Math.floor((entry.current.detected_at / 1000 - start) / size);
      if (series[entry.current.rule] !== undefined && at >= 0 && at < count) series[entry.current.rule][at]++;
    }
    draw('chart-alerts', xs, series, size);
  }

  function drawHealth() {
    const points = state.health;
    const xs = points.map((p) => p.at / 1000);
    const records = {};
    for (const name of state.settings.recordSeries)
      records[name] = points.map((p) => p.records[name] ?? null);
    draw('chart-records', xs, records);
    for (const [id, field] of [
      ['chart-fetch-lag', 'fetchLag'],
      ['chart-commit-lag', 'commitLag'],
      ['chart-delay', 'eventDelay'],
    ]) {
      const keys = [...new Set(points.flatMap((p) => Object.keys(p[field])))].sort();
      const series = {};
      for (const key of keys) series[key] = points.map((p) => p[field][key] ?? null);
      draw(id, xs, series);
    }
  }

  window.addEventListener('resize', () => {
    for (const [id, chart] of charts)
      chart.plot.setSize({ width: Math.max(300, byId(id).clientWidth), height: 200 });
  });

  // ---- status --------------------------------------------------------------------------------------------

  function renderStatus() {
    const s = state.status;
    const feed = byId('feed');
    if (s === undefined) feed.textContent = '';
    else if (s.phase === 'loading')
      feed.textContent = `reading the alerts of the last ${duration(s.historyMs)}…`;
    else
      feed.textContent =
        `live · ${s.historyAlerts} alert message${s.historyAlerts === 1 ? '' : 's'} read from the last ${duration(s.historyMs)} on open` +
        (s.undecodable > 0 ? ` · ${s.undecodable} unreadable` : '');
    const last = state.health[state.health.length - 1];
    const instances = byId('instances');
    if (last === undefined) {
      instances.replaceChildren(
        el('li', {
          className: 'none',
          text: state.settings.metrics === 0 ? 'no pipeline metrics configured' : 'reading metrics…',
        }),
      );
      return;
    }
    instances.replaceChildren(
      ...last.instances.map((i) => {
        const li = el('li', { className: i.up ? 'up' : 'down', text: i.url });
        if (!i.up && i.error) li.title = i.error;
        return li;
      }),
    );
  }

  function populateFilters() {
    for (const [id, values] of [
      ['filter-rule', state.settings.rules],
      ['filter-severity', state.settings.severities],
    ]) {
      const select = byId(id);
      const current = select.value;
      select.replaceChildren(el('option', { text: 'all' }), ...values.map((v) => el('option', { text: v })));
      select.options[0].value = '';
      select.value = values.includes(current) ? current : '';
    }
  }

  for (const [id, key] of [
    ['filter-rule', 'rule'],
    ['filter-severity', 'severity'],
    ['filter-actor', 'actor'],
    ['filter-mailbox', 'mailbox'],
  ])
    byId(id).addEventListener('input', (event) => {
      state.filters[key] = event.target.value.trim();
      renderList();
    });
  byId('detail-close').addEventListener('click', () => select(undefined));

  // ---- events --------------------------------------------------------------------------------------------

  let pending = false;
  /** Many alerts at once (a history, a burst) draw once per frame. */
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      renderList();
      if (state.selected !== undefined) renderDetail();
      drawAlerts();
    });
  }

  function take(change) {
    for (const id of change.evicted) state.alerts.delete(id);
    if (change.entry) state.alerts.set(change.entry.alert_id, change.entry);
  }

  const connection = byId('connection');
  const events = new EventSource('/events');
  events.addEventListener('open', () => {
    connection.textContent = 'connected';
    connection.className = 'pill live';
  });
  events.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.className = 'pill down';
  });
  events.addEventListener('snapshot', (event) => {
    const snapshot = JSON.parse(event.data);
    state.settings = snapshot.settings;
    state.status = snapshot.status;
    state.alerts = new Map(snapshot.alerts.map((entry) => [entry.alert_id, entry]));
    state.health = snapshot.health;
    populateFilters();
    renderStatus();
    drawHealth();
    schedule();
  });
  events.addEventListener('alert', (event) => {
    take(JSON.parse(event.data));
    schedule();
  });
  events.addEventListener('health', (event) => {
    state.health.push(JSON.parse(event.data));
    if (state.health.length > 720) state.health.shift();
    renderStatus();
    drawHealth();
  });
  events.addEventListener('status', (event) => {
    state.status = JSON.parse(event.data);
    renderStatus();
  });
})();
