/*
 * app.js - the live page's behaviour: one WebSocket to ulogd's /ws, the tail
 * of records it streams, the filter it sends back, pause, and the record's
 * JSON beside the tail. What a record says reaches the DOM through text.js
 * (text nodes, control characters neutralised); the chart is chart.js's.
 * ES modules, no framework, nothing from elsewhere: the page runs from
 * ulogd alone, under a Content-Security-Policy of 'self'.
 */
import { createChart } from "./chart.js";
import { appendMessage, neutralise, textOf } from "./text.js";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const MAX_ROWS = 5000;            // rows kept in the DOM, and records held while paused
const MAX_SERVICES = 1000;        // names offered in the service filter
const SEARCH_DELAY_MS = 300;      // typing pause before the text filter is sent
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const NEAR_BOTTOM_PX = 40;        // closer than this to the bottom counts as "at the bottom"

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"), counts: $("counts"), controls: $("controls"),
  service: $("service"), level: $("level"), search: $("search"),
  pause: $("pause"), clear: $("clear"),
  notice: $("notice"), noticeText: $("notice-text"), noticeClose: $("notice-close"),
  chart: $("chart"), scroller: $("scroller"), rows: $("rows"), empty: $("empty"),
  jump: $("jump"), detail: $("detail"), detailTitle: $("detail-title"),
  detailJson: $("detail-json"), detailClose: $("detail-close"),
};
const chart = createChart(ui.chart, levelOf);

// --- state --------------------------------------------------------------------

const params = new URLSearchParams(location.search);
const token = params.get("token");
const recordOf = new WeakMap();   // row element -> its record
const servicesSeen = new Set();
const state = {
  filter: { service: null, level: null, text: null },
  awaitingFilter: 0,     // filter messages sent and not yet answered: frames until then are stale
  paused: false,
  pending: [],           // records received while paused (the newest MAX_ROWS)
  pendingReset: false,   // a backlog arrived while paused: the view is replaced on resume
  pendingCount: 0,       // every record received while paused, including those let go
  toAppend: [],          // received, not yet in the DOM (appended once per frame)
  flushQueued: false,
  missed: 0,
  selected: null,
  stickToBottom: true,
};

// --- the table ----------------------------------------------------------------

function pad(n, width) {
  return String(n).padStart(width, "0");
}

function clockTime(timestamp) {
  const ms = Date.parse(timestamp);
  if (Number.isNaN(ms)) return textOf(timestamp);
  const d = new Date(ms);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.` +
    pad(d.getMilliseconds(), 3);
}

function levelOf(record) {
  const level = typeof record.level === "string" ? record.level.toUpperCase() : "";
  return LEVELS.includes(level) ? level : "INFO";
}

function cell(row, text, className, title) {
  const td = document.createElement("td");
  td.className = className;
  td.textContent = text;
  if (title) td.title = title;
  row.appendChild(td);
  return td;
}

function buildRow(record) {
  const level = levelOf(record);
  const row = document.createElement("tr");
  row.className = "row level-" + level.toLowerCase();
  row.tabIndex = 0;
  row.dataset.level = level;
  row.dataset.service = textOf(record.service);
  const stamp = textOf(record.timestamp);
  cell(row, clockTime(record.timestamp), "c-time", stamp);
  const levelCell = cell(row, "", "c-level");
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = level;
  levelCell.appendChild(badge);
  cell(row, textOf(record.service), "c-service");
  const container = textOf(record.container);
  cell(row, container.slice(0, 12), "c-container", container || undefined);
  cell(row, textOf(record.pid), "c-pid");
  const message = document.createElement("td");
  message.className = "c-message";
  appendMessage(message, record.message, state.filter.text);
  row.appendChild(message);
  recordOf.set(row, record);
  return row;
}

function atBottom() {
  const s = ui.scroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight <= NEAR_BOTTOM_PX;
}

function scrollToBottom() {
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

function flushRows() {
  state.flushQueued = false;
  const records = state.toAppend;
  state.toAppend = [];
  if (records.length === 0) return;
  const stick = state.stickToBottom;
  const fragment = document.createDocumentFragment();
  for (const record of records.slice(-MAX_ROWS)) fragment.appendChild(buildRow(record));
  ui.rows.appendChild(fragment);
  let excess = ui.rows.childElementCount - MAX_ROWS;
  while (excess-- > 0) {
    const first = ui.rows.firstElementChild;
    if (first === state.selected) state.selected = null;
    first.remove();
  }
  ui.empty.hidden = ui.rows.childElementCount > 0;
  if (stick) scrollToBottom();
  else ui.jump.hidden = false;
  showCounts();
}

function queueRows(records) {
  state.toAppend.push(...records);
  if (state.toAppend.length > MAX_ROWS) state.toAppend.splice(0, state.toAppend.length - MAX_ROWS);
  if (!state.flushQueued) {
    state.flushQueued = true;
    // A hidden tab gets no animation frames: a timer keeps it bounded anyway.
    if (document.hidden) setTimeout(flushRows, 250);
    else requestAnimationFrame(flushRows);
  }
}

function clearRows() {
  state.toAppend = [];
  ui.rows.replaceChildren();
  state.selected = null;
  ui.empty.hidden = false;
  ui.jump.hidden = true;
  state.stickToBottom = true;
}

// --- records in: backlog, live, paused ------------------------------------------

function noteServices(records) {
  let added = false;
  for (const r of records) {
    if (typeof r.service === "string" && r.service && !servicesSeen.has(r.service) &&
        servicesSeen.size < MAX_SERVICES) {
      servicesSeen.add(r.service);
      added = true;
    }
  }
  if (added) fillServices();
}

function fillServices() {
  const chosen = ui.service.value;
  const names = [...servicesSeen].sort((a, b) => a.localeCompare(b));
  const options = [new Option("all services", "")];
  for (const name of names) options.push(new Option(neutralise(name), name));
  ui.service.replaceChildren(...options);
  ui.service.value = chosen;
}

function receive(records, replace) {
  if (!Array.isArray(records)) return;
  records = records.filter((r) => r && typeof r === "object");
  noteServices(records);
  if (replace) chart.reset();
  chart.add(records);
  if (state.paused) {
    if (replace) {
      state.pendingReset = true;
      state.pending = [];
    }
    state.pending.push(...records);
    if (state.pending.length > MAX_ROWS) state.pending.splice(0, state.pending.length - MAX_ROWS);
    state.pendingCount += records.length;
    showPause();
  } else {
    if (replace) clearRows();
    queueRows(records);
  }
  showCounts();
}

function setPaused(paused) {
  state.paused = paused;
  if (!paused) {
    if (state.pendingReset) clearRows();
    const held = state.pending;
    state.pending = [];
    state.pendingReset = false;
    state.pendingCount = 0;
    state.stickToBottom = true;
    queueRows(held);
  }
  showPause();
}

function showPause() {
  ui.pause.setAttribute("aria-pressed", String(state.paused));
  ui.pause.textContent = state.paused
    ? `Resume (${state.pendingCount.toLocaleString()} new)` : "Pause";
  document.body.classList.toggle("is-paused", state.paused);
  showStatus();
}

function showCounts() {
  const shown = ui.rows.childElementCount;
  ui.counts.textContent = shown >= MAX_ROWS
    ? `${shown.toLocaleString()} shown (the newest)` : `${shown.toLocaleString()} shown`;
}

function showMissed(count) {
  state.missed += count;
  ui.noticeText.textContent = `Missed ${state.missed.toLocaleString()} records: this page fell ` +
    "behind the stream and the server dropped the oldest it had queued for it.";
  ui.notice.hidden = false;
}

// --- the record's JSON ---------------------------------------------------------

function select(row) {
  if (state.selected) state.selected.removeAttribute("aria-selected");
  state.selected = row;
  const record = recordOf.get(row);
  if (!record) return;
  row.setAttribute("aria-selected", "true");
  const id = record.log_id !== undefined ? `Record ${record.log_id}` : "Record";
  ui.detailTitle.textContent = neutralise(id);
  // JSON.stringify escapes C0 controls; neutralise catches DEL, C1 and bidi.
  ui.detailJson.textContent = neutralise(JSON.stringify(record, null, 2));
  ui.detail.hidden = false;
  // The panel narrows the table and its rows grow taller: keep the chosen one in sight.
  if (!state.stickToBottom) row.scrollIntoView({ block: "nearest" });
}

function closeDetail() {
  ui.detail.hidden = true;
  if (state.selected) {
    state.selected.removeAttribute("aria-selected");
    state.selected.focus();
  }
  state.selected = null;
}

// --- the connection ------------------------------------------------------------

let socket = null;
let connected = false;
let backoff = BACKOFF_FIRST_MS;
let retryAt = 0;
let retryTimer = null;

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = token ? "?token=" + encodeURIComponent(token) : "";
  return `${scheme}//${location.host}/ws${query}`;
}

function showStatus() {
  let text, stateName;
  if (connected) {
    stateName = state.paused ? "paused" : "live";
    text = state.paused ? "paused" : "live";
  } else if (retryAt) {
    // No countdown: the status is a live region, and a ticking one is noise to a screen reader.
    stateName = "offline";
    text = "disconnected, reconnecting…";
  } else {
    stateName = "connecting";
    text = "connecting…";
  }
  ui.status.dataset.state = stateName;
  if (ui.status.textContent !== text) ui.status.textContent = text;
}

function connect() {
  retryAt = 0;
  showStatus();
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch (e) {
    scheduleReconnect();
    return;
  }
  socket = ws;
  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    // The server's first backlog is unfiltered: with a filter set, wait for its answer.
    state.awaitingFilter = 0;
    if (hasFilter()) sendFilter();
  });
  ws.addEventListener("message", (event) => {
    if (socket !== ws) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (message && typeof message === "object") handle(message);
  });
  ws.addEventListener("close", () => {
    if (socket !== ws) return;
    socket = null;
    connected = false;
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = backoff * (0.8 + Math.random() * 0.4);
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  retryAt = Date.now() + delay;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
  showStatus();
}

function handle(message) {
  switch (message.type) {
    case "hello":
      connected = true;
      backoff = BACKOFF_FIRST_MS;
      document.body.dataset.version = String(message.version || "");
      showStatus();
      break;
    case "backlog":
      if (state.awaitingFilter) break;
      receive(message.records, true);
      // Read by tests/browser: a filter's answer has been applied.
      document.body.dataset.backlogs = String(Number(document.body.dataset.backlogs || 0) + 1);
      break;
    case "records":
      if (!state.awaitingFilter) receive(message.records, false);
      break;
    case "filter":
      if (state.awaitingFilter) state.awaitingFilter--;
      break;
    case "missed":
      showMissed(Number(message.count) || 0);
      break;
    case "error":
      // A filter the server refused is answered with this instead.
      if (state.awaitingFilter) state.awaitingFilter--;
      console.warn("ulogd:", message.error);
      break;
    default:
      break;
  }
}

// --- the filter ------------------------------------------------------------------

function hasFilter() {
  const f = state.filter;
  return Boolean(f.service || f.level || f.text);
}

function sendFilter() {
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ type: "filter", ...state.filter }));
  state.awaitingFilter++;
}

function readFilter() {
  state.filter = {
    service: ui.service.value || null,
    level: ui.level.value || null,
    text: ui.search.value.trim() || null,
  };
  sendFilter();
}

let searchTimer = null;

// --- wiring --------------------------------------------------------------------

ui.controls.addEventListener("submit", (e) => e.preventDefault());
ui.service.addEventListener("change", readFilter);
ui.level.addEventListener("change", readFilter);
ui.search.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(readFilter, SEARCH_DELAY_MS);
});
ui.search.addEventListener("keydown", (e) => {
  if (e.key === "Enter") {
    clearTimeout(searchTimer);
    readFilter();
  }
});
ui.pause.addEventListener("click", () => setPaused(!state.paused));
ui.clear.addEventListener("click", () => {
  clearRows();
  showCounts();
});
ui.noticeClose.addEventListener("click", () => {
  ui.notice.hidden = true;
  state.missed = 0;
});
ui.detailClose.addEventListener("click", closeDetail);
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !ui.detail.hidden) closeDetail();
});
ui.rows.addEventListener("click", (e) => {
  const row = e.target.closest("tr");
  // A click that ends a text selection is for copying, not for opening.
  if (row && !String(window.getSelection() || "")) select(row);
});
ui.rows.addEventListener("keydown", (e) => {
  const row = e.target.closest("tr");
  if (!row) return;
  if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    select(row);
  } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const next = e.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
    if (next) next.focus();
  }
});
ui.scroller.addEventListener("scroll", () => {
  state.stickToBottom = atBottom();
  if (state.stickToBottom) ui.jump.hidden = true;
}, { passive: true });
ui.jump.addEventListener("click", () => {
  state.stickToBottom = true;
  ui.jump.hidden = true;
  scrollToBottom();
});
window.addEventListener("resize", chart.draw);
// Rows rewrap when the record panel opens or the window narrows: the tail stays at the bottom.
new ResizeObserver(() => {
  if (state.stickToBottom) scrollToBottom();
}).observe(ui.rows);
// The bars move left as time passes.
setInterval(chart.draw, 1000);
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", chart.draw);

showCounts();
chart.draw();
connect();
