/*
 * page_test.mjs - drives Debian's Chromium (through playwright-core) against
 * a running ulogd to check the live page at / as a user would meet it: the
 * records arriving, the filters, pause, the record's JSON, the chart, markup
 * and terminal escapes shown as text, reconnection, and the token.
 *
 * It starts nothing but the browser and the short programs it runs under
 * the shim: run_browser.py starts the ulogds and passes their addresses.
 * The checks themselves are in page_checks.mjs, what they share in
 * page_helpers.mjs.
 *
 *   node page_test.mjs --url http://127.0.0.1:PORT/ [--token-url http://127.0.0.1:PORT2/
 *       --token TOKEN] [--ulog build/ulog --libulog build/libulog.so --socket SOCK]
 *       [--screenshot build/artifacts/page.png] [--only name,name]
 *
 * (or the same as environment variables: ULOGD_URL, ULOGD_TOKEN_URL, ULOGD_TOKEN,
 * ULOG, LIBULOG, ULOG_SOCKET, SCREENSHOT, CHROMIUM, ONLY). Each check prints one
 * JSON line {"test": name, "ok": bool, "reason": text, "seconds": n}; anything
 * else it prints starts with "#".
 */
import { chromium } from "playwright-core";
import { checks } from "./page_checks.mjs";
import { post, sceneryPast } from "./page_helpers.mjs";

const options = readOptions();
const ONE_CHECK_MS = 30000;
// Each run's records carry a tag of their own, so nothing is mistaken for another run's.
const TAG = Math.random().toString(36).slice(2, 8);

function readOptions() {
  const env = process.env;
  const o = {
    url: env.ULOGD_URL, tokenUrl: env.ULOGD_TOKEN_URL, token: env.ULOGD_TOKEN, ulog: env.ULOG,
    libulog: env.LIBULOG, socket: env.ULOG_SOCKET, screenshot: env.SCREENSHOT,
    chromium: env.CHROMIUM || "/usr/bin/chromium", only: env.ONLY,
  };
  const names = { "--url": "url", "--token-url": "tokenUrl", "--token": "token", "--ulog": "ulog",
    "--libulog": "libulog", "--socket": "socket", "--screenshot": "screenshot",
    "--chromium": "chromium", "--only": "only" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    if (!(argv[i] in names) || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    o[names[argv[i]]] = argv[i + 1];
  }
  if (!o.url) throw new Error("--url (or ULOGD_URL) is required");
  o.url = new URL(o.url);
  o.only = o.only ? new Set(o.only.split(",")) : null;
  return o;
}

function report(test, ok, reason, seconds) {
  console.log(JSON.stringify({ test, ok, reason: reason || "", seconds }));
}

// --- running ---------------------------------------------------------------------

async function main() {
  const browser = await chromium.launch({
    executablePath: options.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const problems = [];
  const ctx = { browser, base: options.url, problems, options, TAG };
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    ctx.page = page;
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" || /Content.Security.Policy/i.test(m.text()))
        problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    await post(options.url, sceneryPast());
    ctx.firstResponse = await page.goto(options.url.href);
    for (const [name, run] of checks(ctx)) {
      if (options.only && !options.only.has(name)) continue;
      const started = Date.now();
      let timer;
      try {
        const summary = await Promise.race([run(), new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${ONE_CHECK_MS / 1000} s`)),
            ONE_CHECK_MS);
        })]);
        report(name, true, summary, (Date.now() - started) / 1000);
      } catch (e) {
        report(name, false, String(e && e.message || e).split("\n").slice(0, 6).join("\n"),
          (Date.now() - started) / 1000);
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.log(`# page_test: ${e && e.stack || e}`);
  process.exit(2);
});
