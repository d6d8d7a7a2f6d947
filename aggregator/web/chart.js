/*
 * chart.js - the live page's volume chart: records per level in 10 s
 * buckets over the last 10 minutes, as stacked bars drawn on a <canvas>
 * (no library), in the colours style.css defines for the current scheme.
 * The counts are also left on the canvas as data attributes (data-total,
 * data-bars, data-by-level) and in its aria-label.
 */

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const BUCKET_MS = 10 * 1000;
const WINDOW_BUCKETS = 60;  // 10 minutes of 10 s bars

// createChart(canvas, levelOf), where levelOf(record) is one of LEVELS:
// { add(records), reset(), draw() }. Drawing waits for the next frame.
export function createChart(canvas, levelOf) {
  const buckets = new Map();  // bucket start (ms) -> counts per level
  let drawQueued = false;

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function add(records) {
    const now = Date.now();
    const oldest = (Math.floor(now / BUCKET_MS) - WINDOW_BUCKETS + 1) * BUCKET_MS;
    for (const r of records) {
      let ms = Date.parse(r.timestamp);
      if (Number.isNaN(ms)) continue;
      ms = Math.min(ms, now);  // a clock ahead of ours: count it as now
      if (ms < oldest) continue;
      const start = Math.floor(ms / BUCKET_MS) * BUCKET_MS;
      let counts = buckets.get(start);
      if (!counts) buckets.set(start, (counts = [0, 0, 0, 0, 0]));
      counts[LEVELS.indexOf(levelOf(r))]++;
    }
    queueDraw();
  }

  function reset() {
    buckets.clear();
    queueDraw();
  }

  function queueDraw() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      draw();
    });
  }

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth, height = canvas.clientHeight;
    if (!width || !height) return;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);

    const now = Date.now();
    const last = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const first = last - (WINDOW_BUCKETS - 1) * BUCKET_MS;
    for (const start of buckets.keys()) if (start < first) buckets.delete(start);

    const totals = [0, 0, 0, 0, 0];
    let peak = 0, bars = 0;
    for (const counts of buckets.values()) {
      const sum = counts.reduce((a, b) => a + b, 0);
      peak = Math.max(peak, sum);
      if (sum) bars++;
      counts.forEach((n, i) => (totals[i] += n));
    }
    const total = totals.reduce((a, b) => a + b, 0);
    canvas.dataset.total = String(total);
    canvas.dataset.bars = String(bars);
    canvas.dataset.byLevel = JSON.stringify(Object.fromEntries(LEVELS.map((l, i) => [l, totals[i]])));
    canvas.setAttribute("aria-label", total
      ? `${total} records in the last 10 minutes: ` +
        LEVELS.map((l, i) => `${totals[i]} ${l}`).join(", ")
      : "No records in the last 10 minutes");

    const font = cssVar("--chart-font") || "11px sans-serif";
    const axis = cssVar("--muted") || "#888";
    const left = 36, right = 8, top = 8, bottom = 18;
    const plotW = width - left - right, plotH = height - top - bottom;
    const scale = niceCeiling(peak);

    g.font = font;
    g.fillStyle = axis;
    g.strokeStyle = cssVar("--grid") || "rgba(128,128,128,0.25)";
    g.lineWidth = 1;
    g.textBaseline = "middle";
    g.textAlign = "right";
    for (const fraction of [0, 0.5, 1]) {
      const y = Math.round(top + plotH - plotH * fraction) + 0.5;
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(left + plotW, y);
      g.stroke();
      g.fillText(String(Math.round(scale * fraction)), left - 6, y);
    }
    g.textBaseline = "alphabetic";
    g.textAlign = "center";
    for (const minutes of [10, 5, 0]) {
      const x = left + plotW * (1 - minutes / 10);
      g.textAlign = minutes === 10 ? "left" : minutes === 0 ? "right" : "center";
      g.fillText(minutes ? `−${minutes} min` : "now", x, height - 4);
    }

    const colours = LEVELS.map((l) => cssVar("--" + l.toLowerCase() + "-bar"));
    const slot = plotW / WINDOW_BUCKETS;
    const barW = Math.max(1, slot - Math.min(3, slot * 0.25));
    for (let i = 0; i < WINDOW_BUCKETS; i++) {
      const counts = buckets.get(first + i * BUCKET_MS);
      if (!counts) continue;
      let y = top + plotH;
      const x = left + i * slot + (slot - barW) / 2;
      counts.forEach((n, level) => {
        if (!n) return;
        const h = Math.max(1, (n / scale) * plotH);
        g.fillStyle = colours[level];
        g.fillRect(x, y - h, barW, h);
        y -= h;
      });
    }
  }

  // 1, 2, 5, 10, 20, 50 ...: an axis that reads at a glance.
  function niceCeiling(n) {
    if (n <= 5) return 5;
    const power = Math.pow(10, Math.floor(Math.log10(n)));
    for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
    return 10 * power;
  }

  return { add, reset, draw: queueDraw };
}
