/*
 * page_helpers.mjs - what page_test.mjs's checks share: feeding ulogd (POST
 * /logs, programs under the shim), reading the page's rows and changing
 * its filters, and the made-up records that fill the chart and the
 * screenshot.
 */
import { spawnSync } from "node:child_process";

export const WAIT_MS = 10000;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- feeding ulogd -----------------------------------------------------------------

export async function post(base, entries, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(new URL("/logs", base), {
    method: "POST", headers, body: JSON.stringify(entries),
  });
  const body = await response.text();
  if (response.status !== 201) throw new Error(`POST /logs answered ${response.status}: ${body}`);
  return JSON.parse(body);
}

// A program run under the shim, to completion: what it prints reaches ulogd
// through libulog.so, not through the API.
export function runUnderShim(options, how, service, script) {
  if (!options.ulog || !options.libulog || !options.socket)
    throw new Error("--ulog, --libulog and --socket are needed for records from the shim");
  const env = { PATH: process.env.PATH, LC_ALL: "C.UTF-8" };
  let argv;
  if (how === "ulog run") {
    argv = [options.ulog, "run", "--socket", options.socket, "--service", service, "--",
      "/bin/sh", "-c", script];
  } else {
    Object.assign(env, { LD_PRELOAD: options.libulog, ULOG_SOCKET: options.socket,
      ULOG_SERVICE: service });
    argv = ["/bin/sh", "-c", script];
  }
  const result = spawnSync(argv[0], argv.slice(1), { env, timeout: 15000, encoding: "utf8" });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(`${how} ${script}: exit status ${result.status}: ${result.stderr}`);
}

// --- reading the page --------------------------------------------------------------

export async function rowTexts(page) {
  return page.$$eval("#rows tr", (rows) => rows.map((r) => ({
    level: r.dataset.level,
    service: r.querySelector(".c-service").textContent,
    message: r.querySelector(".c-message").textContent,
  })));
}

export async function waitForMessage(page, text, timeout = WAIT_MS) {
  await page.waitForFunction((t) => [...document.querySelectorAll("#rows .c-message")]
    .some((c) => c.textContent.includes(t)), text, { timeout });
}

export async function hasMessage(page, text) {
  return page.$$eval("#rows .c-message", (cells, t) => cells.some((c) => c.textContent.includes(t)),
    text);
}

export async function backlogs(page) {
  return Number(await page.evaluate(() => document.body.dataset.backlogs || 0));
}

// Changes a filter control and waits until the server's new backlog is shown.
export async function applyFilter(page, change) {
  const before = await backlogs(page);
  await change();
  await page.waitForFunction((n) => Number(document.body.dataset.backlogs || 0) > n, before,
    { timeout: WAIT_MS });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
}

export async function resetFilters(page) {
  const current = await page.evaluate(() => [
    document.getElementById("service").value, document.getElementById("level").value,
    document.getElementById("search").value]);
  if (current[0]) await applyFilter(page, () => page.selectOption("#service", ""));
  if (current[1]) await applyFilter(page, () => page.selectOption("#level", ""));
  if (current[2]) await applyFilter(page, () => page.fill("#search", ""));
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// Records of a made-up shop over the last ten minutes, for the chart and the
// screenshot: enough variety to look like a real stack.
export function sceneryPast() {
  const services = ["api", "worker", "db", "frontend"];
  const words = [
    (n) => `GET /orders/${n} 200 in ${n % 90 + 3} ms`,
    (n) => `cache miss for key user:${n}`,
    (n) => `job ${n} done in ${(n % 40) / 10} s`,
    (n) => `slow query (${n % 900 + 100} ms): SELECT * FROM orders WHERE id = $1`,
    (n) => `retrying payment ${n} after timeout`,
  ];
  const levels = ["DEBUG", "INFO", "INFO", "INFO", "DEBUG", "INFO", "WARNING", "INFO", "INFO", "INFO"];
  const now = Date.now();
  const entries = [];
  // A quiet night with a busy spell and an incident: 59 buckets of 10 s.
  for (let bucket = 0, i = 0; bucket < 59; bucket++) {
    const busy = 5 + Math.round(4 * Math.sin(bucket / 6) + ((bucket * 37) % 7) / 2);
    const incident = bucket >= 40 && bucket <= 43;
    for (let k = 0; k < busy + (incident ? 9 : 0); k++, i++) {
      const n = (i * 7919) % 1000;
      const level = incident && k % 3 === 0 ? (k % 9 === 0 ? "CRITICAL" : "ERROR")
        : levels[n % levels.length];
      entries.push({
        timestamp: new Date(now - (59 - bucket) * 10000 + Math.floor((k + 0.5) * 10000 /
          (busy + (incident ? 9 : 0)))).toISOString(),
        level, service: services[n % services.length], message: words[n % words.length](n),
      });
    }
  }
  return entries;
}

export function sceneryTail() {
  return [
    { level: "INFO", service: "frontend", message: "GET /cart 200 in 12 ms" },
    { level: "DEBUG", service: "api", message: "token refreshed for session 5f2c" },
    { level: "WARNING", service: "db", message: "slow query (812 ms): SELECT * FROM orders WHERE id = $1" },
    { level: "ERROR", service: "worker", message:
      "Traceback (most recent call last):\n  File \"worker.py\", line 88, in run\n    charge(order)\n" +
      "PaymentError: card declined (code 51)" },
    { level: "WARNING", service: "frontend", message: "rejected comment from 10.1.2.3: " +
      "<img src=x onerror=\"window.__pwned=3\"> \x1b[1mbold\x1b[0m" },
    { level: "INFO", service: "api", message: "POST /checkout 201 in 48 ms" },
    { level: "INFO", service: "worker", message: "checkout completed for cart 8841" },
  ];
}
