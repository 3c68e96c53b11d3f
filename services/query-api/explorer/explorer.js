// The explorer page: plain browser JavaScript, no build step. It calls this service's /v1 routes
// on the same origin with the key the user enters, and draws with uPlot (served beside it).
(function () {
  'use strict';

  const KEY_STORAGE = 'eventpipe.explorer.apiKey';
  const PAGE_SIZE = 50;
  /** Rows the live tail keeps in the table; the oldest go past it. */
  const MAX_LIVE_ROWS = 500;
  const FILTERS = ['type', 'source', 'subject', 'from', 'to'];
  const HOUR_MS = 3600 * 1000;
  const INTERVAL_SECONDS = { minute: 60, hour: 3600, day: 86400 };
  const PALETTE = [
    '#2557d6',
    '#e0621a',
    '#1f9d55',
    '#c22f7a',
    '#7b4bd1',
    '#0e8fa5',
    '#b58a00',
    '#d64545',
    '#4d6a8a',
    '#6f9a1d',
  ];
  /** CloudEvents context attributes, in the order the inspector lists them. */
  const ATTRIBUTES = [
    'specversion',
    'id',
    'source',
    'type',
    'time',
    'subject',
    'datacontenttype',
    'dataschema',
  ];
  const PIPELINE = ['receivedAt', 'publishedAt', 'storedAt', 'messageId', 'producer'];
  const NOT_EXTENSIONS = new Set([...ATTRIBUTES, ...PIPELINE, 'data', 'data_base64']);

  const byId = (id) => document.getElementById(id);
  const els = {
    keyForm: byId('key-form'),
    key: byId('api-key'),
    forgetKey: byId('forget-key'),
    filters: byId('filters'),
    clear: byId('clear-filters'),
    type: byId('f-type'),
    source: byId('f-source'),
    subject: byId('f-subject'),
    from: byId('f-from'),
    to: byId('f-to'),
    status: byId('status'),
    layout: document.querySelector('.layout'),
    chartTitle: byId('chart-title'),
    chart: byId('chart'),
    chartNote: byId('chart-note'),
    live: byId('live'),
    newest: byId('newest'),
    older: byId('older'),
    table: byId('events'),
    rows: byId('rows'),
    pageInfo: byId('page-info'),
    inspector: byId('inspector'),
    inspectorTitle: byId('inspector-title'),
    attributes: byId('attributes'),
    pipeline: byId('pipeline'),
    data: byId('event-data'),
    curl: byId('curl'),
    copyCurl: byId('copy-curl'),
    closeInspector: byId('close-inspector'),
  };

  const state = {
    /** The applied filters: type, source, subject, and from/to as RFC 3339 UTC. */
    filters: {},
    /** The cursor of the page shown (null: the newest page), its number, and the next one's. */
    cursor: null,
    page: 1,
    nextCursor: null,
    /** The events shown, by key (source NUL id). */
    events: new Map(),
    selected: null,
    pageLoad: null,
    statsLoad: null,
    chart: null,
    chartTimer: null,
    /** The live tail while it is on: { controller, lastId, retryMs, failures, received }. */
    live: null,
  };

  // ---------------------------------------------------------------------------------------------
  // Small helpers.

  const keyOf = (ev) => ev.source + '\u0000' + ev.id;
  const pad = (n, w) => String(n).padStart(w || 2, '0');

  /** A datetime-local value (local time) as RFC 3339 UTC; undefined if empty or not valid. */
  function localToRfc3339(value) {
    if (!value) return undefined;
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return undefined;
    return d.toISOString().replace('.000Z', 'Z');
  }

  /** RFC 3339 as a datetime-local value (local time, to the second). */
  function rfc3339ToLocal(value) {
    const d = new Date(value);
    if (!value || Number.isNaN(d.getTime())) return '';
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
      `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  /** An event time for the table: local, to the millisecond. */
  function displayTime(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return value;
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
    );
  }

  function setStatus(text, kind) {
    els.status.textContent = text;
    els.status.className = 'status' + (kind ? ' ' + kind : '');
  }

  function abortableSleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }

  const isAbort = (e) => e && e.name === 'AbortError';

  // ---------------------------------------------------------------------------------------------
  // The API key: this tab only.

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || '';
    } catch {
      return '';
    }
  }

  function storeKey(value) {
    try {
      if (value) sessionStorage.setItem(KEY_STORAGE, value);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch {
      // Storage refused (a private mode): the key lives in the field only.
    }
  }

  const apiKey = () => els.key.value.trim();

  function requestHeaders(accept) {
    const headers = { Accept: accept };
    const key = apiKey();
    if (key) headers.Authorization = 'Bearer ' + key;
    return headers;
  }

  // ---------------------------------------------------------------------------------------------
  // Calling the API.

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** A URL on this service (relative to the page, so a path prefix in front is kept). */
  function apiUrl(path, params) {
    const url = new URL(path, document.baseURI);
    for (const [name, value] of Object.entries(params || {})) {
      if (value !== undefined && value !== null && value !== '') {
        url.searchParams.set(name, String(value));
      }
    }
    return url;
  }

  /** An error response (RFC 9457 problem+json, or anything else) as an ApiError. */
  async function problemOf(res) {
    let problem = {};
    try {
      problem = JSON.parse(await res.text()) || {};
    } catch {
      // Not JSON: the status says enough.
    }
    if (res.status === 401) {
      els.keyForm.classList.add('needs-key');
      return new ApiError(
        apiKey()
          ? 'The API key was not accepted: check it, or enter another in "API key".'
          : 'An API key is needed: enter one (with the events:read scope) in "API key" above.',
        401,
        problem.code,
      );
    }
    let message = (problem.title || `HTTP ${res.status} ${res.statusText}`).trim();
    if (problem.detail) message += ': ' + problem.detail;
    if (Array.isArray(problem.errors) && problem.errors.length) {
      const items = problem.errors
        .slice(0, 5)
        .map((e) => (e.pointer ? e.pointer + ': ' : '') + (e.detail || ''));
      message += ' (' + items.join('; ') + ')';
    }
    return new ApiError(message, res.status, problem.code);
  }

  async function getJson(path, params, signal) {
    let res;
    try {
      res = await fetch(apiUrl(path, params), {
        headers: requestHeaders('application/json'),
        cache: 'no-store',
        signal,
      });
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new ApiError('The service did not answer (' + e.message + ').', 0);
    }
    if (!res.ok) throw await problemOf(res);
    els.keyForm.classList.remove('needs-key');
    return res.json();
  }

  function showError(error, prefix) {
    setStatus((prefix || '') + (error && error.message ? error.message : String(error)), 'error');
  }

  // ---------------------------------------------------------------------------------------------
  // Filters: the form, the URL and the applied state.

  function filtersFromForm() {
    const filters = {};
    for (const name of ['type', 'source', 'subject']) {
      const value = els[name].value.trim();
      if (value) filters[name] = value;
    }
    const from = localToRfc3339(els.from.value);
    const to = localToRfc3339(els.to.value);
    if (from) filters.from = from;
    if (to) filters.to = to;
    return filters;
  }

  function filtersFromUrl() {
    const query = new URLSearchParams(location.search);
    const filters = {};
    for (const name of FILTERS) {
      const value = query.get(name);
      if (value) filters[name] = value;
    }
    return filters;
  }

  function fillForm(filters) {
    for (const name of ['type', 'source', 'subject']) els[name].value = filters[name] || '';
    els.from.value = rfc3339ToLocal(filters.from);
    els.to.value = rfc3339ToLocal(filters.to);
  }

  function urlOf(filters) {
    const query = new URLSearchParams();
    for (const name of FILTERS) if (filters[name]) query.set(name, filters[name]);
    const search = query.toString();
    return location.pathname + (search ? '?' + search : '') + location.hash;
  }

  /** Applies `filters`: the URL (a new history entry when asked), the table, the chart and the
   * live tail. */
  function applyFilters(filters, push) {
    state.filters = filters;
    const url = urlOf(filters);
    if (push && url !== location.pathname + location.search + location.hash) {
      history.pushState(null, '', url);
    }
    closeInspector(false);
    void loadPage(null, 1);
    void loadStats();
    if (state.live) restartLive();
  }

  // ---------------------------------------------------------------------------------------------
  // The table.

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    td.title = text;
    if (className) td.className = className;
    return td;
  }

  function rowOf(ev, fresh) {
    const tr = document.createElement('tr');
    tr.tabIndex = 0;
    tr.dataset.key = keyOf(ev);
    const time = cell(displayTime(ev.time), 'mono');
    time.title = ev.time;
    tr.append(
      time,
      cell(ev.type),
      cell(ev.source),
      cell(ev.subject == null ? '' : String(ev.subject)),
      cell(ev.id, 'mono'),
    );
    if (fresh) {
      tr.classList.add('fresh');
      tr.addEventListener('animationend', () => tr.classList.remove('fresh'), { once: true });
    }
    if (state.selected === tr.dataset.key) tr.setAttribute('aria-current', 'true');
    return tr;
  }

  function emptyRow(text) {
    const tr = document.createElement('tr');
    tr.className = 'empty';
    const td = document.createElement('td');
    td.colSpan = 5;
    td.textContent = text;
    tr.append(td);
    return tr;
  }

  function renderRows(events) {
    state.events = new Map(events.map((ev) => [keyOf(ev), ev]));
    els.rows.replaceChildren(
      ...(events.length
        ? events.map((ev) => rowOf(ev, false))
        : [emptyRow('No events match these filters.')]),
    );
  }

  function updatePager() {
    els.older.disabled = !state.nextCursor;
    const shown = state.events.size;
    let info = `Page ${state.page} · ${shown} event${shown === 1 ? '' : 's'} · newest first`;
    if (state.live) info += ` · live: ${state.live.received} new`;
    els.pageInfo.textContent = info;
  }

  async function loadPage(cursor, page) {
    if (state.pageLoad) state.pageLoad.abort();
    const controller = new AbortController();
    state.pageLoad = controller;
    els.table.setAttribute('aria-busy', 'true');
    try {
      const body = await getJson(
        'v1/events',
        { ...state.filters, limit: PAGE_SIZE, cursor: cursor || undefined },
        controller.signal,
      );
      state.cursor = cursor;
      state.page = page;
      state.nextCursor = body.nextCursor || null;
      renderRows(Array.isArray(body.data) ? body.data : []);
      const n = state.events.size;
      if (!state.live) {
        setStatus(
          n ? `${n} event${n === 1 ? '' : 's'} on page ${page}.` : 'No events match these filters.',
        );
      }
    } catch (e) {
      if (isAbort(e)) return;
      showError(e);
      state.nextCursor = null;
      renderRows([]);
    } finally {
      if (state.pageLoad === controller) {
        state.pageLoad = null;
        els.table.removeAttribute('aria-busy');
        updatePager();
      }
    }
  }

  function rowsInTable() {
    return Array.from(els.rows.querySelectorAll('tr[data-key]'));
  }

  function onRowActivate(tr) {
    const ev = state.events.get(tr.dataset.key);
    if (ev) openInspector(ev);
  }

  els.rows.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-key]');
    if (tr) onRowActivate(tr);
  });

  els.rows.addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr[data-key]');
    if (!tr || e.target !== tr) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onRowActivate(tr);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling;
      if (next && next.dataset.key) next.focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      const rows = rowsInTable();
      const target = e.key === 'Home' ? rows[0] : rows[rows.length - 1];
      if (target) target.focus();
    }
  });

  els.older.addEventListener('click', () => {
    if (!state.nextCursor) return;
    // An older page and a live tail into its top do not go together.
    if (state.live) setLive(false);
    void loadPage(state.nextCursor, state.page + 1);
  });

  els.newest.addEventListener('click', () => {
    void loadPage(null, 1);
    void loadStats();
  });

  // ---------------------------------------------------------------------------------------------
  // The inspector.

  function definitionList(dl, entries) {
    dl.replaceChildren();
    for (const [name, value] of entries) {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dl.append(dt, dd);
    }
  }

  const shellQuote = (s) => "'" + s.replace(/'/g, "'\\''") + "'";

  /** A curl command that fetches the event; the key by reference to a variable, never itself. */
  function curlOf(ev) {
    const url = apiUrl('v1/events/' + encodeURIComponent(ev.id), { source: ev.source });
    let command = 'curl -sS ' + shellQuote(url.href);
    if (apiKey()) command += ' \\\n  -H "Authorization: Bearer $EVENTPIPE_API_KEY"';
    return command;
  }

  function dataText(ev) {
    if (Object.prototype.hasOwnProperty.call(ev, 'data')) {
      return JSON.stringify(ev.data, null, 2);
    }
    if (ev.data_base64 !== undefined) return ev.data_base64 + '\n(binary data, base64)';
    return '(no data)';
  }

  function openInspector(ev) {
    const key = keyOf(ev);
    state.selected = key;
    for (const tr of rowsInTable()) {
      if (tr.dataset.key === key) tr.setAttribute('aria-current', 'true');
      else tr.removeAttribute('aria-current');
    }
    els.inspectorTitle.textContent = ev.type;
    const attributes = ATTRIBUTES.filter((a) => ev[a] !== undefined && ev[a] !== null).map((a) => [
      a,
      String(ev[a]),
    ]);
    for (const name of Object.keys(ev).sort()) {
      if (!NOT_EXTENSIONS.has(name)) attributes.push([name, String(ev[name])]);
    }
    definitionList(els.attributes, attributes);
    definitionList(
      els.pipeline,
      PIPELINE.map((m) => [m, ev[m] === undefined || ev[m] === null ? '(none)' : String(ev[m])]),
    );
    els.data.textContent = dataText(ev);
    els.curl.textContent = curlOf(ev);
    const wasHidden = els.inspector.hidden;
    els.inspector.hidden = false;
    els.layout.classList.add('inspecting');
    if (wasHidden) resizeChartSoon();
    if (window.matchMedia('(max-width: 1000px)').matches) {
      els.inspector.scrollIntoView({ block: 'nearest' });
    }
  }

  function selectedRow() {
    return rowsInTable().find((tr) => tr.dataset.key === state.selected);
  }

  function closeInspector(returnFocus) {
    if (els.inspector.hidden) return;
    const focusWasInside = els.inspector.contains(document.activeElement);
    const row = selectedRow();
    els.inspector.hidden = true;
    els.layout.classList.remove('inspecting');
    if (row) row.removeAttribute('aria-current');
    state.selected = null;
    resizeChartSoon();
    if (returnFocus && row && (focusWasInside || document.activeElement === document.body)) {
      row.focus();
    }
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch {
        // Refused: fall back to selecting the command.
      }
    }
    const selection = window.getSelection();
    const range = document.createRange();
    range.selectNodeContents(els.curl);
    selection.removeAllRanges();
    selection.addRange(range);
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }

  els.copyCurl.addEventListener('click', async () => {
    const ev = state.events.get(state.selected);
    if (!ev) return;
    const text = curlOf(ev);
    els.curl.textContent = text;
    if (await copyText(text)) {
      setStatus(
        apiKey()
          ? 'Copied the curl command. Set EVENTPIPE_API_KEY in your shell before running it.'
          : 'Copied the curl command.',
        'ok',
      );
    } else {
      setStatus('Could not copy: the command is selected in the inspector; press Ctrl+C.', 'error');
    }
  });

  els.closeInspector.addEventListener('click', () => closeInspector(true));

  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !els.inspector.hidden) {
      e.preventDefault();
      closeInspector(true);
    }
  });

  // ---------------------------------------------------------------------------------------------
  // The chart: events per interval by type.

  /** The range and interval the chart shows: the filters' range, or the last 24 hours. */
  function chartRange() {
    const toMs = state.filters.to ? Date.parse(state.filters.to) : Date.now();
    const fromMs = state.filters.from ? Date.parse(state.filters.from) : toMs - 24 * HOUR_MS;
    const span = toMs - fromMs;
    const interval = span <= 3 * HOUR_MS ? 'minute' : span <= 60 * 24 * HOUR_MS ? 'hour' : 'day';
    return {
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      interval,
    };
  }

  /** uPlot's columns from the buckets: every interval of the range (zeros included), one series
   * per type, the busiest first. */
  function chartData(stats) {
    const step = INTERVAL_SECONDS[stats.interval] || 3600;
    const fromS = Math.floor(Date.parse(stats.from) / 1000 / step) * step;
    const toS = Date.parse(stats.to) / 1000;
    const xs = new Set();
    for (let t = fromS; t < toS && xs.size <= 10000; t += step) xs.add(t);
    const totals = new Map();
    for (const b of stats.buckets) {
      xs.add(Math.floor(Date.parse(b.start) / 1000));
      const key = b.key == null ? 'events' : b.key;
      totals.set(key, (totals.get(key) || 0) + b.count);
    }
    const times = Array.from(xs).sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const keys = Array.from(totals.keys()).sort((a, b) => totals.get(b) - totals.get(a));
    const series = keys.map(() => new Array(times.length).fill(0));
    const seriesIndex = new Map(keys.map((k, i) => [k, i]));
    for (const b of stats.buckets) {
      const key = b.key == null ? 'events' : b.key;
      series[seriesIndex.get(key)][index.get(Math.floor(Date.parse(b.start) / 1000))] += b.count;
    }
    return { keys, data: [times, ...series] };
  }

  function chartWidth() {
    return Math.max(240, els.chart.clientWidth);
  }

  function drawChart(stats) {
    if (state.chart) {
      state.chart.destroy();
      state.chart = null;
    }
    const { keys, data } = chartData(stats);
    els.chartTitle.textContent = `Events per ${stats.interval} by type`;
    els.chart.hidden = !keys.length;
    if (!keys.length) {
      els.chartNote.textContent = 'No events in this time range.';
      els.chartNote.hidden = false;
      return;
    }
    els.chartNote.textContent =
      'Drag across the chart to filter on that time range. Times are local.';
    els.chartNote.hidden = false;
    if (typeof window.uPlot !== 'function') {
      setStatus('The chart library did not load.', 'error');
      return;
    }
    const axis = {
      stroke: '#5b6678',
      grid: { stroke: '#eef1f6', width: 1 },
      ticks: { stroke: '#dde2ea', width: 1 },
    };
    const opts = {
      width: chartWidth(),
      height: 220,
      scales: {
        x: { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.15))] },
      },
      axes: [
        axis,
        {
          ...axis,
          size: 48,
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7],
        },
      ],
      cursor: { drag: { x: true, y: false, setScale: false } },
      series: [
        {},
        ...keys.map((key, i) => ({
          label: key,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          points: { size: 6 },
          value: (_u, v) => (v == null ? '–' : String(v)),
        })),
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 4) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            const filters = {
              ...state.filters,
              from: new Date(Math.floor(from) * 1000).toISOString().replace('.000Z', 'Z'),
              to: new Date(Math.ceil(to) * 1000).toISOString().replace('.000Z', 'Z'),
            };
            fillForm(filters);
            applyFilters(filters, true);
          },
        ],
      },
    };
    state.chart = new window.uPlot(opts, data, els.chart);
  }

  async function loadStats() {
    if (state.statsLoad) state.statsLoad.abort();
    const controller = new AbortController();
    state.statsLoad = controller;
    const range = chartRange();
    try {
      const stats = await getJson(
        'v1/stats',
        {
          type: state.filters.type,
          source: state.filters.source,
          subject: state.filters.subject,
          from: range.from,
          to: range.to,
          interval: range.interval,
          groupBy: 'type',
        },
        controller.signal,
      );
      drawChart(stats);
    } catch (e) {
      if (isAbort(e)) return;
      els.chart.hidden = true;
      els.chartNote.textContent = 'The chart could not be drawn: ' + e.message;
      els.chartNote.hidden = false;
      if (state.chart) {
        state.chart.destroy();
        state.chart = null;
      }
    } finally {
      if (state.statsLoad === controller) state.statsLoad = null;
    }
  }

  /** After live events, the chart is redrawn at most every 10 s. */
  function refreshChartLater() {
    if (state.chartTimer) return;
    state.chartTimer = setTimeout(() => {
      state.chartTimer = null;
      void loadStats();
    }, 10_000);
  }

  let resizeFrame = 0;
  function resizeChartSoon() {
    cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(() => {
      if (state.chart) state.chart.setSize({ width: chartWidth(), height: 220 });
    });
  }
  let resizeTimer;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeChartSoon, 100);
  });

  // ---------------------------------------------------------------------------------------------
  // Live: Server-Sent Events read with fetch (EventSource cannot send Authorization).

  /** Reads an SSE body, calling onMessage({ event, data, id }) per message; returns at its end. */
  async function readEventStream(body, live, onMessage) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data = [];
    let event = '';
    const line = (text) => {
      if (text === '') {
        if (data.length) onMessage({ event: event || 'message', data: data.join('\n') });
        data = [];
        event = '';
        return;
      }
      if (text[0] === ':') return; // a comment (the heartbeat)
      const colon = text.indexOf(':');
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\u0000')) live.lastId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) live.retryMs = Number(value);
    };
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let start = 0;
        for (let i = 0; i < buffer.length; i++) {
          const c = buffer[i];
          if (c !== '\n' && c !== '\r') continue;
          if (c === '\r' && i === buffer.length - 1) break; // a \n may follow in the next chunk
          line(buffer.slice(start, i));
          if (c === '\r' && buffer[i + 1] === '\n') i++;
          start = i + 1;
        }
        buffer = buffer.slice(start);
      }
    } finally {
      reader.releaseLock();
    }
  }

  function onLiveMessage(live, message) {
    if (state.live !== live) return;
    let ev;
    try {
      ev = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!ev || typeof ev !== 'object' || typeof ev.id !== 'string') return;
    const key = keyOf(ev);
    if (state.events.has(key)) return;
    const placeholder = els.rows.querySelector('tr.empty');
    if (placeholder) placeholder.remove();
    state.events.set(key, ev);
    els.rows.prepend(rowOf(ev, true));
    const rows = rowsInTable();
    for (const tr of rows.slice(MAX_LIVE_ROWS)) {
      if (tr.dataset.key === state.selected) continue;
      state.events.delete(tr.dataset.key);
      tr.remove();
    }
    live.received += 1;
    updatePager();
    refreshChartLater();
  }

  async function runLive(live) {
    const signal = live.controller.signal;
    while (state.live === live) {
      const headers = requestHeaders('text/event-stream');
      if (live.lastId) headers['Last-Event-ID'] = live.lastId;
      let res;
      try {
        res = await fetch(apiUrl('v1/events/stream', state.filters), {
          headers,
          cache: 'no-store',
          signal,
        });
      } catch (e) {
        if (isAbort(e) || state.live !== live) return;
        res = undefined;
      }
      if (res && !res.ok) {
        const error = await problemOf(res);
        if (state.live !== live) return;
        if (res.status === 400 && live.lastId && error.code === 'invalid-cursor') {
          live.lastId = null; // the resume token no longer fits: start from now
          continue;
        }
        if (res.status !== 429 && res.status < 500) {
          showError(error, 'Live stopped: ');
          setLive(false, true);
          return;
        }
        const retryAfter = Number(res.headers.get('Retry-After'));
        setStatus(`Live: ${error.message}; retrying…`, 'error');
        live.failures += 1;
        await abortableSleep(
          retryAfter > 0 ? retryAfter * 1000 : Math.min(30_000, live.retryMs * live.failures),
          signal,
        );
        continue;
      }
      if (res) {
        const type = res.headers.get('Content-Type') || '';
        if (!type.startsWith('text/event-stream')) {
          setStatus('Live stopped: the service did not answer with an event stream.', 'error');
          setLive(false, true);
          return;
        }
        els.keyForm.classList.remove('needs-key');
        live.failures = 0;
        setStatus('Live: new events appear at the top of the table.', 'ok');
        try {
          await readEventStream(res.body, live, (m) => onLiveMessage(live, m));
        } catch (e) {
          if (isAbort(e) || state.live !== live) return;
        }
        if (state.live !== live) return;
      }
      live.failures += 1;
      setStatus('Live: the connection dropped; reconnecting…', 'error');
      await abortableSleep(Math.min(30_000, live.retryMs * live.failures), signal);
    }
  }

  /** Turns the tail on or off; `quiet` keeps the status line as it is. */
  function setLive(on, quiet) {
    if (on === Boolean(state.live)) return;
    els.live.setAttribute('aria-pressed', String(on));
    if (on) {
      const live = {
        controller: new AbortController(),
        lastId: null,
        retryMs: 2000,
        failures: 0,
        received: 0,
      };
      state.live = live;
      setStatus('Live: connecting…');
      if (state.cursor) void loadPage(null, 1); // the tail goes into the newest page
      void runLive(live);
    } else {
      state.live.controller.abort();
      state.live = null;
      if (!quiet) setStatus('Live is off.');
    }
    updatePager();
  }

  /** Starts the tail afresh (new filters or key): a resume token is bound to both. */
  function restartLive() {
    setLive(false, true);
    setLive(true);
  }

  els.live.addEventListener('click', () => setLive(!state.live));

  // ---------------------------------------------------------------------------------------------
  // Wiring.

  els.filters.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const name of ['from', 'to']) {
      if (els[name].value && !localToRfc3339(els[name].value)) {
        setStatus(`"${name}" is not a valid date and time.`, 'error');
        els[name].focus();
        return;
      }
    }
    applyFilters(filtersFromForm(), true);
  });

  els.clear.addEventListener('click', () => {
    fillForm({});
    applyFilters({}, true);
  });

  els.key.value = storedKey();
  els.key.addEventListener('input', () => {
    storeKey(apiKey());
    els.keyForm.classList.remove('needs-key');
    const ev = state.events.get(state.selected);
    if (ev && !els.inspector.hidden) els.curl.textContent = curlOf(ev);
  });
  els.key.addEventListener('change', () => {
    void loadPage(null, 1);
    void loadStats();
    if (state.live) restartLive();
  });
  els.keyForm.addEventListener('submit', (e) => {
    e.preventDefault();
    els.key.dispatchEvent(new Event('change'));
  });
  els.forgetKey.addEventListener('click', () => {
    els.key.value = '';
    storeKey('');
    els.key.dispatchEvent(new Event('input'));
    els.key.dispatchEvent(new Event('change'));
    setStatus('The key is forgotten.');
  });

  window.addEventListener('popstate', () => {
    const filters = filtersFromUrl();
    fillForm(filters);
    applyFilters(filters, false);
  });

  const initial = filtersFromUrl();
  fillForm(initial);
  applyFilters(initial, false);
})();
