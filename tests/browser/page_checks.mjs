/*
 * page_checks.mjs - page_test.mjs's checks, in the order they run: each is
 * [name, async () => summary] and throws to fail. They share one page (the
 * first ones leave records the later ones see) and open others of their own
 * where they need a different connection (the proxy, the token).
 */
import fs from "node:fs";
import path from "node:path";
import {
  WAIT_MS, applyFilter, assert, hasMessage, post, resetFilters, rowTexts, runUnderShim as shimRun,
  sceneryTail, sleep, waitForMessage,
} from "./page_helpers.mjs";

const ESC = "\u241b";  // the page's stand-in for the escape character
const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const HOSTILE_MARKUP = `<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
const HOSTILE_ESCAPES = "\x1b[31mRED\x1b[0m \x1b]0;title\x07";

export function checks(ctx) {
  const { page, base, options, TAG } = ctx;
  const runUnderShim = (...args) => shimRun(options, ...args);
  return [
    ["page_loads", async () => {
      const response = ctx.firstResponse;
      assert(response && response.status() === 200, `GET / answered ${response && response.status()}`);
      const headers = response.headers();
      const csp = headers["content-security-policy"] || "";
      for (const part of ["default-src 'self'", "script-src 'self'", "style-src 'self'",
        "connect-src 'self'"])
        assert(csp.includes(part), `Content-Security-Policy lacks ${part}: "${csp}"`);
      assert(headers["x-content-type-options"] === "nosniff", "no X-Content-Type-Options: nosniff");
      assert(/^text\/html/.test(headers["content-type"] || ""), `content type ${headers["content-type"]}`);
      for (const [asset, type] of [["/app.js", /javascript/], ["/chart.js", /javascript/],
        ["/text.js", /javascript/], ["/style.css", /^text\/css/]]) {
        const r = await fetch(new URL(asset, base));
        assert(r.status === 200 && type.test(r.headers.get("content-type") || ""),
          `${asset}: ${r.status} ${r.headers.get("content-type")}`);
      }
      await page.waitForSelector('#status[data-state="live"]', { timeout: WAIT_MS });
      const styled = await page.evaluate(() => getComputedStyle(document.body).display);
      assert(styled === "flex", "style.css was not applied");
      return "200 with the CSP; status live";
    }],

    ["screenshot", async () => {
      if (!options.screenshot) return "no --screenshot";
      // Taken early, while the tail and the chart hold the scenery rather than the checks' records.
      await resetFilters(page);
      await post(base, sceneryTail());
      await waitForMessage(page, "checkout completed for cart");
      // With a hostile record of the scenery open beside the tail.
      await page.locator("#rows tr", { hasText: "rejected comment" }).last().click();
      await page.waitForSelector("#detail:not([hidden])", { timeout: WAIT_MS });
      await page.$eval("#scroller", (s) => { s.scrollTop = s.scrollHeight; });
      await sleep(1100);
      fs.mkdirSync(path.dirname(options.screenshot), { recursive: true });
      await page.screenshot({ path: options.screenshot });
      // The same in the dark scheme, beside it: page-dark.png.
      const dark = options.screenshot.replace(/(\.png)?$/, "-dark.png");
      await page.emulateMedia({ colorScheme: "dark" });
      await sleep(1100);
      await page.screenshot({ path: dark });
      await page.emulateMedia({ colorScheme: "light" });
      await page.keyboard.press("Escape");
      assert(await page.evaluate(() => typeof window.__pwned) === "undefined", "window.__pwned is set");
      return `${options.screenshot}, ${dark}`;
    }],

    ["records_live", async () => {
      const entries = [
        { level: "INFO", service: `live-${TAG}`, message: `live one ${TAG}` },
        { level: "ERROR", service: `live-${TAG}`, message: `live two ${TAG}` },
        { level: "CRITICAL", service: `live-${TAG}`, message: `live three ${TAG}`,
          metadata: { order: 3 } },
      ];
      await post(base, entries);
      await waitForMessage(page, `live three ${TAG}`);
      const rows = (await rowTexts(page)).filter((r) => r.message.includes(`live `) &&
        r.message.endsWith(TAG));
      assert(rows.map((r) => r.message).join("|") ===
        `live one ${TAG}|live two ${TAG}|live three ${TAG}`,
        `rows in the wrong order or missing: ${JSON.stringify(rows)}`);
      assert(rows.map((r) => r.level).join() === "INFO,ERROR,CRITICAL", "levels not shown");
      const all = await rowTexts(page);
      const newest = all.map((r) => r.message).lastIndexOf(`live three ${TAG}`);
      assert(all.length - newest <= 3, "the newest record is not at the bottom");
      const critical = await page.$eval(".row.level-critical .badge",
        (b) => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]);
      assert(critical[0] === "rgb(255, 255, 255)", `CRITICAL is not white on red: ${critical}`);
      return "3 records posted, shown in order at the bottom";
    }],

    ["shim_records_live", async () => {
      runUnderShim("ulog run", `shim-${TAG}`, `echo "from ulog run ${TAG}"; echo "to stderr ${TAG}" >&2`);
      runUnderShim("LD_PRELOAD", `preload-${TAG}`, `echo "from LD_PRELOAD ${TAG}"`);
      for (const text of [`from ulog run ${TAG}`, `to stderr ${TAG}`, `from LD_PRELOAD ${TAG}`])
        await waitForMessage(page, text);
      const rows = await rowTexts(page);
      const service = (t) => rows.find((r) => r.message === t)?.service;
      assert(service(`from ulog run ${TAG}`) === `shim-${TAG}`, "wrong service for ulog run");
      assert(service(`from LD_PRELOAD ${TAG}`) === `preload-${TAG}`, "wrong service under LD_PRELOAD");
      return "lines of sh under `ulog run` and under LD_PRELOAD shown";
    }],

    ["markup_inert", async () => {
      await post(base, [{ level: "WARNING", service: `evil-${TAG}`,
        message: `markup ${TAG} ${HOSTILE_MARKUP} ${HOSTILE_ESCAPES}` }]);
      runUnderShim("ulog run", `evil-${TAG}`,
        `printf 'shim escapes ${TAG} \\033[31mRED\\033[0m \\033]0;title\\007\\n'`);
      await waitForMessage(page, `markup ${TAG}`);
      await waitForMessage(page, `shim escapes ${TAG}`);
      await sleep(300);  // an onerror would have fired by now
      const seen = await page.evaluate((tag) => {
        const cells = [...document.querySelectorAll("#rows .c-message")];
        return {
          pwned: typeof window.__pwned,
          scripts: document.querySelectorAll("#rows script, #rows img, #detail script, #detail img").length,
          images: document.images.length,
          markup: cells.find((c) => c.textContent.startsWith(`markup ${tag}`))?.textContent,
          shim: cells.find((c) => c.textContent.startsWith(`shim escapes ${tag}`))?.textContent,
        };
      }, TAG);
      assert(seen.pwned === "undefined", `window.__pwned is set (${seen.pwned})`);
      assert(seen.scripts === 0 && seen.images === 0, "an element was made from a record's text");
      const shown = `${ESC}[31mRED${ESC}[0m ${ESC}]0;title\\x07`;
      assert(seen.markup === `markup ${TAG} ${HOSTILE_MARKUP} ${shown}`,
        `the posted line reads ${JSON.stringify(seen.markup)}`);
      assert(seen.shim === `shim escapes ${TAG} ${shown}`,
        `the shim's line reads ${JSON.stringify(seen.shim)}`);
      // The raw control characters must not reach the DOM at all.
      const raw = await page.evaluate(() => /[\u0000-\u0008\u000b-\u001f\u007f]/.test(
        document.getElementById("rows").textContent));
      assert(!raw, "a control character reached the DOM");
      return "<script>, <img onerror> and ESC/BEL shown as text";
    }],

    ["level_filter", async () => {
      await resetFilters(page);
      await post(base, LEVELS.map((level) => ({ level, service: `lvl-${TAG}`,
        message: `level ${level.toLowerCase()} ${TAG}` })));
      await waitForMessage(page, `level critical ${TAG}`);
      await applyFilter(page, () => page.selectOption("#level", "WARNING"));
      let rows = await rowTexts(page);
      const low = rows.filter((r) => r.level === "DEBUG" || r.level === "INFO");
      assert(rows.length > 0 && low.length === 0,
        `${low.length} rows below WARNING remain: ${JSON.stringify(low.slice(0, 3))}`);
      for (const level of ["warning", "error", "critical"])
        assert(rows.some((r) => r.message === `level ${level} ${TAG}`), `level ${level} is missing`);
      await post(base, [{ level: "INFO", service: `lvl-${TAG}`, message: `after info ${TAG}` },
        { level: "ERROR", service: `lvl-${TAG}`, message: `after error ${TAG}` }]);
      await waitForMessage(page, `after error ${TAG}`);
      assert(!(await hasMessage(page, `after info ${TAG}`)), "an INFO record posted later shows");
      await resetFilters(page);
      assert(await hasMessage(page, `level debug ${TAG}`), "DEBUG does not come back");
      return "WARNING and above only, before and after";
    }],

    ["service_filter", async () => {
      await resetFilters(page);
      await post(base, [{ service: `alpha-${TAG}`, message: `alpha one ${TAG}` },
        { service: `beta-${TAG}`, message: `beta one ${TAG}` }]);
      await waitForMessage(page, `beta one ${TAG}`);
      const options = await page.$$eval("#service option", (o) => o.map((x) => x.value));
      assert(options.includes(`alpha-${TAG}`) && options.includes(`beta-${TAG}`),
        "the services seen are not offered");
      await applyFilter(page, () => page.selectOption("#service", `alpha-${TAG}`));
      let rows = await rowTexts(page);
      const others = rows.filter((r) => r.service !== `alpha-${TAG}`);
      assert(rows.length > 0 && others.length === 0, `${others.length} rows of other services remain`);
      await post(base, [{ service: `beta-${TAG}`, message: `beta two ${TAG}` },
        { service: `alpha-${TAG}`, message: `alpha two ${TAG}` }]);
      await waitForMessage(page, `alpha two ${TAG}`);
      assert(!(await hasMessage(page, `beta two ${TAG}`)), "another service's later record shows");
      await resetFilters(page);
      return "one service only, before and after";
    }],

    ["text_search", async () => {
      await resetFilters(page);
      await post(base, [{ message: `Needle-${TAG} in a haystack` }, { message: `plain hay ${TAG}` }]);
      await waitForMessage(page, `plain hay ${TAG}`);
      await applyFilter(page, () => page.fill("#search", `needle-${TAG}`));
      let rows = await rowTexts(page);
      assert(rows.length >= 1 && rows.every((r) => r.message.toLowerCase().includes(`needle-${TAG}`)),
        `rows without the text remain: ${rows.length}`);
      const marked = await page.$$eval("#rows mark", (m) => m.map((x) => x.textContent));
      assert(marked.includes(`Needle-${TAG}`), "the match is not marked");
      await post(base, [{ message: `more hay ${TAG}` }, { message: `another NEEDLE-${TAG}` }]);
      await waitForMessage(page, `another NEEDLE-${TAG}`);
      assert(!(await hasMessage(page, `more hay ${TAG}`)), "a later record without the text shows");
      await resetFilters(page);
      return "case-insensitive, marked, applied to later records";
    }],

    ["pause_resume", async () => {
      await resetFilters(page);
      await page.click("#pause");
      assert(await page.$eval("#pause", (b) => b.getAttribute("aria-pressed")) === "true",
        "the pause button is not pressed");
      await post(base, [1, 2, 3].map((n) => ({ message: `held ${n} ${TAG}` })));
      await page.waitForFunction(() => /Resume \([1-9]/.test(document.getElementById("pause").textContent),
        null, { timeout: WAIT_MS });
      await sleep(200);
      assert(!(await hasMessage(page, `held 1 ${TAG}`)), "a record was shown while paused");
      const label = await page.textContent("#pause");
      await page.click("#pause");
      await waitForMessage(page, `held 3 ${TAG}`);
      const rows = (await rowTexts(page)).filter((r) => r.message.startsWith("held "));
      assert(rows.map((r) => r.message).join("|") === [1, 2, 3].map((n) => `held ${n} ${TAG}`).join("|"),
        "the held records were not all shown, in order");
      return `counted while paused ("${label}"), shown on resume`;
    }],

    ["row_json", async () => {
      await post(base, [{ level: "ERROR", service: `json-${TAG}`, message: `json me ${TAG}`,
        component: "billing", trace_id: `trace-${TAG}`, metadata: { order_id: 42 } }]);
      await waitForMessage(page, `json me ${TAG}`);
      await page.locator("#rows tr", { hasText: `json me ${TAG}` }).click();
      await page.waitForSelector("#detail:not([hidden])", { timeout: WAIT_MS });
      const record = JSON.parse(await page.textContent("#detail-json"));
      assert(record.message === `json me ${TAG}` && record.service === `json-${TAG}` &&
        record.level === "ERROR" && record.trace_id === `trace-${TAG}` &&
        record.component === "billing" && record.metadata?.order_id === 42,
        `the panel shows ${JSON.stringify(record)}`);
      const pretty = (await page.textContent("#detail-json")).split("\n").length > 5;
      assert(pretty, "the JSON is not pretty-printed");
      await page.keyboard.press("Escape");
      await page.waitForSelector("#detail[hidden]", { state: "attached", timeout: WAIT_MS });
      return `the record's JSON (${Object.keys(record).length} keys)`;
    }],

    ["chart", async () => {
      await page.waitForFunction(() => Number(document.getElementById("chart").dataset.total) > 0,
        null, { timeout: WAIT_MS });
      await sleep(1100);  // the chart redraws every second
      const drawn = await page.evaluate(() => {
        const canvas = document.getElementById("chart");
        const g = canvas.getContext("2d");
        const pixels = g.getImageData(0, 0, canvas.width, canvas.height).data;
        const css = getComputedStyle(document.documentElement);
        const want = ["--info-bar", "--error-bar"].map((name) => {
          const probe = document.createElement("div");
          probe.style.color = css.getPropertyValue(name).trim();
          document.body.appendChild(probe);
          const rgb = getComputedStyle(probe).color.match(/\d+/g).map(Number);
          probe.remove();
          return rgb;
        });
        const counts = want.map(() => 0);
        for (let i = 0; i < pixels.length; i += 4)
          want.forEach((c, k) => {
            if (pixels[i] === c[0] && pixels[i + 1] === c[1] && pixels[i + 2] === c[2] &&
              pixels[i + 3] === 255) counts[k]++;
          });
        return { counts, total: Number(canvas.dataset.total), bars: Number(canvas.dataset.bars),
          byLevel: JSON.parse(canvas.dataset.byLevel) };
      });
      assert(drawn.bars >= 1 && drawn.total >= 10, `chart data: ${JSON.stringify(drawn)}`);
      assert(drawn.byLevel.ERROR >= 1 && drawn.byLevel.INFO >= 1, `by level: ${JSON.stringify(drawn.byLevel)}`);
      assert(drawn.counts[0] > 20 && drawn.counts[1] > 4,
        `too few bar pixels drawn (INFO ${drawn.counts[0]}, ERROR ${drawn.counts[1]})`);
      return `${drawn.total} records in ${drawn.bars} bars; ${drawn.counts[0]} INFO pixels`;
    }],

    ["autoscroll", async () => {
      await resetFilters(page);
      await post(base, Array.from({ length: 60 }, (_, i) => ({ message: `fill ${i} ${TAG}` })));
      await waitForMessage(page, `fill 59 ${TAG}`);
      const atBottom = () => page.$eval("#scroller",
        (s) => s.scrollHeight - s.scrollTop - s.clientHeight < 40);
      assert(await atBottom(), "the tail did not follow the newest record");
      await page.$eval("#scroller", (s) => { s.scrollTop = 0; });
      await page.waitForFunction(() => document.getElementById("scroller").scrollTop === 0);
      await sleep(100);
      await post(base, [{ message: `while scrolled up ${TAG}` }]);
      await waitForMessage(page, `while scrolled up ${TAG}`);
      const top = await page.$eval("#scroller", (s) => s.scrollTop);
      assert(top === 0, `the view moved while the user looked up (scrollTop ${top})`);
      assert(await page.isVisible("#jump"), "no way back to the newest record is offered");
      await page.click("#jump");
      assert(await atBottom(), "the jump button does not go to the bottom");
      await post(base, [{ message: `following again ${TAG}` }]);
      await waitForMessage(page, `following again ${TAG}`);
      assert(await atBottom(), "the tail does not follow again");
      return "follows at the bottom, stays put when scrolled up";
    }],

    ["missed_and_reconnect", async () => {
      // A second page whose WebSocket goes through a proxy of the test's own:
      // it adds a "missed" frame and then drops the connection.
      const other = await ctx.browser.newPage();
      let connections = 0;
      let dropFirst;
      const dropped = new Promise((resolve) => (dropFirst = resolve));
      await other.routeWebSocket(/\/ws/, (ws) => {
        connections++;
        const server = ws.connectToServer();
        ws.onMessage((m) => server.send(m));
        server.onMessage((m) => ws.send(m));
        if (connections === 1) dropFirst(ws);
      });
      await other.goto(base.href);
      await other.waitForSelector('#status[data-state="live"]', { timeout: WAIT_MS });
      const first = await dropped;
      first.send(JSON.stringify({ type: "missed", count: 42 }));
      await other.waitForSelector("#notice:not([hidden])", { timeout: WAIT_MS });
      const notice = await other.textContent("#notice-text");
      assert(/Missed 42 records/.test(notice), `the notice reads ${JSON.stringify(notice)}`);
      first.close({ code: 1011, reason: "test" });
      await other.waitForSelector('#status[data-state="offline"]', { timeout: WAIT_MS });
      await other.waitForSelector('#status[data-state="live"]', { timeout: WAIT_MS });
      assert(connections === 2, `${connections} connections`);
      await post(base, [{ message: `after reconnect ${TAG}` }]);
      await waitForMessage(other, `after reconnect ${TAG}`);
      await other.close();
      return "notice shown; reconnected and live again";
    }],

    ["token_page", async () => {
      if (!options.tokenUrl || !options.token) throw new Error("--token-url and --token are needed");
      const tokenBase = new URL(options.tokenUrl);
      const bare = await fetch(new URL("/", tokenBase));
      assert(bare.status === 401, `/ without the token answered ${bare.status}`);
      assert(/Bearer/i.test(bare.headers.get("www-authenticate") || ""), "no WWW-Authenticate: Bearer");
      const wrong = await fetch(new URL("/?token=not-" + options.token, tokenBase));
      assert(wrong.status === 401, `/ with a wrong token answered ${wrong.status}`);
      const other = await ctx.browser.newPage();
      const url = new URL("/", tokenBase);
      url.searchParams.set("token", options.token);
      const response = await other.goto(url.href);
      assert(response.status() === 200, `/?token= answered ${response.status()}`);
      await other.waitForSelector('#status[data-state="live"]', { timeout: WAIT_MS });
      await post(tokenBase, [{ message: `behind the token ${TAG}` }], options.token);
      await waitForMessage(other, `behind the token ${TAG}`);
      // The WebSocket itself refuses a client without the token.
      const refused = await other.evaluate((href) => new Promise((resolve) => {
        const ws = new WebSocket(href);
        ws.onopen = () => resolve(false);
        ws.onclose = () => resolve(true);
      }), url.href.replace(/^http/, "ws").replace(/\/\?.*$/, "/ws"));
      assert(refused, "/ws without the token was accepted");
      await other.close();
      return "401 without it, live with ?token=, /ws refused without it";
    }],

    ["row_cap", async () => {
      await resetFilters(page);
      const total = 5300;
      for (let start = 0; start < total; start += 1000) {
        const n = Math.min(1000, total - start);
        await post(base, Array.from({ length: n }, (_, i) => ({
          service: `cap-${TAG}`, message: `cap ${start + i} ${TAG}` })));
      }
      await waitForMessage(page, `cap ${total - 1} ${TAG}`, 20000);
      const seen = await page.$eval("#rows", (t) => ({
        count: t.rows.length,
        last: t.rows[t.rows.length - 1].querySelector(".c-message").textContent,
      }));
      assert(seen.count === 5000, `${seen.count} rows in the DOM`);
      assert(seen.last === `cap ${total - 1} ${TAG}`, `the last row is ${seen.last}`);
      assert(!(await hasMessage(page, `cap 0 ${TAG}`)), "the oldest rows were kept");
      return "5000 rows kept, the newest";
    }],

    ["no_page_errors", async () => {
      assert(ctx.problems.length === 0, ctx.problems.slice(0, 5).join("\n"));
      return "no script error, CSP violation or failed request";
    }],
  ];
}
