"""store_report.py - the text and tables of the `store` section of
docs/BENCHMARKS.md, from the figures store_serving.py measured.

Every number in the prose is this run's, never written by hand.
"""

import statistics

from benchlib import fmt, spread, table


def _med_range(values, digits=0):
    med, lo, hi, _ = spread(values)
    return f"{fmt(med, digits)} ({fmt(lo, digits)} – {fmt(hi, digits)})"


def _p95(values):
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def _ms(value):
    return fmt(value, 1) if value < 100 else fmt(value)


def _span(values, digits=0, unit=" ms"):
    """'a – b ms', or 'a ms' when they round alike."""
    lo, hi = fmt(min(values), digits), fmt(max(values), digits)
    return f"{lo}{unit}" if lo == hi else f"{lo} – {hi}{unit}"


def _runs(n):
    return f"{n} run" + ("s" if n > 1 else "")


def _times(ratio):
    return f"{ratio:.1f}×" if ratio < 10 else f"{fmt(ratio)}×"


def _intro(args, rates):
    return [
        "What the store (the SQLite database behind `GET /logs`, written by a thread of its "
        "own) costs ulogd's ingestion, how far it falls behind a burst and how soon it catches "
        "up, and how fast `GET /logs` answers on a store of a million records next to `jq` and "
        "`grep` over all.log, what a user had before. `build/bench/pipeline_feed` "
        "([bench/pipeline_feed.c](../bench/pipeline_feed.c)) sends the pipeline section's corpus "
        "to a real `build/ulogd` (`ULOG_ENV=production`, HTTP on a free loopback port, started "
        "afresh for every run) over four connections, services `api`, `billing`, `worker` and "
        "`web` in turn; in the flat-out runs the records' timestamps are spread over the 24 "
        "hours before the run (`-t 86400`), so that the store holds what a day of logging puts "
        "in it. While the feeder runs, `GET /metrics` is read every 100 ms on a kept-alive "
        "connection: `ulog_store_lag_records` (the last id fed to the store minus the last "
        "committed), `ulog_store_lag_seconds` (the age of the oldest batch waiting), "
        "`ulog_store_queue_bytes`, `ulog_store_committed_total`, `ulog_store_dropped_total` "
        "(batches left out of the store past `store.queue_bytes`, 64 MiB; never out of "
        "all.log).",
        "",
        f"- **Flat out**: {fmt(args.store_lines)} lines as fast as ulogd takes them, with the "
        f"store off (`ULOG_STORE=off`) and on, alternating, {args.store_runs} runs of each. "
        "*lines/s* is the lines over the time from the first send until ulogd has taken the "
        "last message off its socket, as in the pipeline section; *ulogd CPU µs/line* counts "
        "all its threads until the store has caught up (store on) or all.log holds the last "
        "line (store off); *store rows/s* is the rows committed from the first line until the "
        "store caught up, over that time; *caught up* is when a sample first showed lag 0 "
        "with every record of the feeder committed, counted from the feeder's last line.",
        f"- **Paced**: {', '.join(fmt(r) for r in rates)} lines/s for "
        f"{args.store_paced_seconds} s each (`pipeline_feed -r`), store on.",
        f"- **The fill**: {fmt(args.store_fill_lines)} lines flat out as above, with "
        "`ULOG_STORE_QUEUE=1G` so that the queue holds the whole burst and the store ends up "
        "with every record all.log has; how long the store takes to absorb it is in the first "
        "table too.",
        "- **GET /logs**: that store (its records, the feeder's and ulogd's own, are all.log's) "
        "answers each query "
        f"{args.store_requests} times over one kept-alive connection (`http.client`, after one "
        "untimed request), default limit 100, newest first. The same question goes to `jq` "
        f"({_runs(args.store_peer_runs)}) and, where it means something, to `grep`/`tail` "
        f"({_runs(max(5, args.store_peer_runs))}), each the newest 100 matching records of the "
        "same all.log (the file is in the page cache). *same records* compares the store's "
        "answer with jq's (timestamp, service, level, message, in order). `grep -i` for a "
        "word also matches it outside the message (in metadata), so it may find more lines.",
        "",
        "Reproduce with `make bench`, or, once `make all build/bench/pipeline_feed` has run:",
        "",
        "```sh",
        f"python3 bench/run_shim_cost.py --only store --store-lines {args.store_lines} "
        f"--store-fill-lines {args.store_fill_lines} "
        f"--store-runs {args.store_runs} --store-rates {args.store_rates} "
        f"--store-paced-seconds {args.store_paced_seconds} --store-requests {args.store_requests} "
        f"--store-peer-runs {args.store_peer_runs}",
        "```",
    ]


def _flat_tables(flat, fill):
    off, on = flat[False], flat[True]
    rows = [["store off", _med_range([r["lines_per_s"] for r in off]),
             _med_range([r["cpu_us_per_line"] for r in off], 2), "", "", ""],
            ["store on", _med_range([r["lines_per_s"] for r in on]),
             _med_range([r["cpu_us_per_line"] for r in on], 2),
             _med_range([r["store_rows_per_s"] for r in on]),
             _med_range([r["caught_up_after"] for r in on], 1),
             " / ".join(fmt(r["dropped"]) for r in on)],
            [f"the fill: {fmt(fill['feed']['lines'])} lines, queue 1 GiB", fmt(fill["lines_per_s"]),
             fmt(fill["cpu_us_per_line"], 2), fmt(fill["store_rows_per_s"]),
             fmt(fill["caught_up_after"], 1), fmt(fill["dropped"])]]
    out = [table(["configuration", "lines/s (min – max)", "ulogd CPU µs/line",
                  "store rows/s", "caught up after (s)", "dropped from the store (per run)"],
                 rows), ""]
    lag_rows = [[r["name"], fmt(r["lag_records_max"]), fmt(r["lag_records_median"]),
                 fmt(r["lag_seconds_max"], 2), fmt(r["lag_seconds_median"], 2),
                 fmt(r["queue_bytes_max"] / 2**20, 1), fmt(r["samples"])] for r in on + [fill]]
    out += ["The store's lag in each store-on run, over the samples from the first line until "
            "it caught up:", "",
            table(["run", "peak lag (records)", "median lag (records)", "peak lag (s)",
                   "median lag (s)", "peak queue (MiB)", "samples"], lag_rows)]
    return out


def _growing(r):
    """The lag of the second half of the feeding well above the first's: the
    store is not keeping up with this rate."""
    return r["lag_second_half"] > 1.5 * r["lag_first_half"] + 1000


def _paced_table(paced):
    rows = [[fmt(r["rate"]), fmt(r["lines_per_s"]), fmt(r["feed"]["late_max_ns"] / 1e6, 1),
             fmt(r["lag_records_max"]), fmt(r["lag_first_half"]), fmt(r["lag_second_half"]),
             fmt(r["lag_seconds_max"], 2), fmt(r["lag_seconds_median"], 2),
             fmt(r["caught_up_after"], 1), fmt(r["dropped"]),
             "grows" if _growing(r) else "level"] for r in paced]
    return "\n".join([
        table(["rate (lines/s)", "lines/s sent", "feeder late max (ms)", "peak lag (records)",
               "median lag, 1st half", "median lag, 2nd half", "peak lag (s)", "median lag (s)",
               "caught up after (s)", "dropped", "lag"], rows), "",
        "*median lag, 1st / 2nd half*: over the samples of the first and second half of the "
        "feeding; *lag* says *grows* when the second is over 1.5 times the first (plus 1 000 "
        "records): the store is not keeping up with that rate, and its lag grows for as long "
        "as the rate lasts (until `store.queue_bytes` is full, after which batches are dropped)."])


def _query_tables(query):
    rows = []
    for r in query["rows"]:
        store = statistics.median(r["store"]) if r["store"] else None
        cells = [r["label"], f"`{r['params']}`", fmt(r["matches"])]
        cells += [_ms(store), _ms(_p95(r["store"]))] if store else ["failed", ""]
        for peer in ("jq", "grep"):
            if r[peer]:
                med = statistics.median(r[peer])
                cells += [_ms(med), _times(med / store) if store else ""]
            else:
                cells += ["—", ""]
        cells.append({True: "yes", False: "**no**", None: "—"}[r["same"]])
        rows.append(cells)
    out = [table(["query", "GET /logs", "matches in all.log", "store median ms", "store p95 ms",
                  "jq ms", "jq ÷ store", "grep/tail ms", "grep ÷ store",
                  "same records"], rows), "", "The peers' commands (`$LOG` is all.log):", ""]
    for r in query["rows"]:
        out.append(f"- {r['label']}: `{r['jq_cmd']}`"
                   + (f"; `{r['grep_cmd']}`" if r["grep_cmd"] else ""))
    rows_in_store = query["rows_in_store"] or query["log_records"]
    per_million_db = query["db_bytes"] / rows_in_store * 1e6
    per_million_log = query["log_bytes"] / query["log_records"] * 1e6
    out += ["", table(["", "records", "bytes", "MB per million records"], [
        ["all.log", fmt(query["log_records"]), fmt(query["log_bytes"]), fmt(per_million_log / 1e6)],
        ["store (ulog.db + WAL)", fmt(query["rows_in_store"]), fmt(query["db_bytes"]),
         fmt(per_million_db / 1e6)],
    ])]
    return out, per_million_db / per_million_log


def _reading(flat, fill, paced, query, size_ratio):
    median = statistics.median
    on_runs = flat[True]
    off, on = median(r["lines_per_s"] for r in flat[False]), median(r["lines_per_s"] for r in on_runs)
    cpu_off = median(r["cpu_us_per_line"] for r in flat[False])
    cpu_on = median(r["cpu_us_per_line"] for r in on_runs)
    rows_s = median(r["store_rows_per_s"] for r in on_runs)
    catch = median(r["caught_up_after"] for r in on_runs)
    peak, peak_s = max(r["lag_records_max"] for r in on_runs), max(r["lag_seconds_max"] for r in on_runs)
    dropped = sum(r["dropped"] for r in on_runs)
    share = 100 * on / off
    first = (f"- With the store on, ulogd took {fmt(on)} lines/s flat out against {fmt(off)} "
             f"with it off ({share:.0f} %), and used {cpu_on:.2f} µs of CPU per line against "
             f"{cpu_off:.2f} (all its threads, until the store had caught up). ")
    if cpu_on > cpu_off:
        first += (f"The store's thread adds {cpu_on - cpu_off:.2f} µs per line (SQLite: the "
                  "row, nine indexes, the full-text index); ")
    else:
        first += "The difference in CPU is within this machine's noise; "
    if share < 90:
        first += ("with 2 cores shared by the feeder, ulogd's event loop and the store's "
                  "thread, that work takes CPU the event loop would otherwise have had.")
    else:
        first += ("it runs on the other core, so the event loop keeps (nearly) its pace: what "
                  "the store costs is CPU, not ingestion speed, as long as a core is free.")
    second = (f"- The store committed {fmt(rows_s)} rows/s from the first line until it had "
              f"caught up. ")
    if peak > 0:
        second += (f"Flat out, it fell up to {fmt(peak)} records ({peak_s:.1f} s) behind, and "
                   f"caught up {catch:.1f} s after the feeder's last line. ")
    else:
        second += "Even flat out it never showed a lag in the 100 ms samples. "
    second += ("Nothing was dropped from the store: its 64 MiB queue held the whole burst."
               if dropped == 0 else
               f"{fmt(dropped)} records were left out of the store (never out of all.log) when "
               "its queue reached 64 MiB (about "
               f"{fmt(max(r['lag_records_max'] for r in on_runs))} records): a burst that "
               "outruns the store by more than that loses the rest from the store.")
    second += (f" With a queue that held the whole burst (the fill), the store took "
               f"{fmt(fill['committed'])} records at {fmt(fill['store_rows_per_s'])} rows/s and "
               f"caught up {fill['caught_up_after']:.0f} s after the feeder's last line.")
    parts = [first, second]
    if paced:
        level = [r for r in paced if not _growing(r)]
        grows = [r for r in paced if _growing(r)]
        text = "- Paced, "
        if level:
            text += ("at " + " and ".join(fmt(r["rate"]) for r in level) + " lines/s the lag "
                     "stayed level, peaking at " + " and ".join(
                         f"{fmt(r['lag_records_max'])} records ({r['lag_seconds_max']:.2f} s)"
                         for r in level) + ": the store keeps up")
        if grows:
            text += ("; " if level else "") + (
                "at " + " and ".join(fmt(r["rate"]) for r in grows) + " lines/s it grew "
                "through the run, to " + " and ".join(
                    f"{fmt(r['lag_records_max'])} records ({r['lag_seconds_max']:.2f} s)"
                    for r in grows)
                + f" (it commits {fmt(rows_s)} rows/s flat out, sharing the 2 cores with the "
                "feeder and the event loop): it falls behind for as long as such a rate lasts "
                "and catches up once it drops")
        text += (". Nothing was dropped." if all(r["dropped"] == 0 for r in paced)
                 else f"; {fmt(sum(r['dropped'] for r in paced))} records were dropped.")
        parts.append(text)
    rows = {r["label"]: r for r in query["rows"]}

    def med(label, peer="store"):
        r = rows.get(label)
        return median(r[peer]) if r and r[peer] else None
    indexed = [med(k) for k in ("no filter", "service", "min_level=ERROR", "5-minute window",
                                "offset=10000") if med(k)]
    fts = [med(k) for k in ("q, ~1 % of lines", "q, rare word", "service + level + q") if med(k)]
    scans = [k for k in rows if k not in ("no filter", "offset=10000")]
    jq = [med(k, "jq") for k in scans if med(k, "jq")]
    grep = [med(k, "grep") for k in scans if med(k, "grep")]
    tail = [med(k, "grep") for k in ("no filter", "offset=10000") if med(k, "grep")]
    text = "- GET /logs answered"
    if indexed:
        text += f" the queries without a full-text part in {_span(indexed, 1)} (median)"
    if fts:
        text += f" and those with `q` in {_span(fts, 1)}"
    text += (f", on {fmt(query['rows_in_store'])} records. What it costs is the page, not the "
             "store's size: the indexes (the full-text one included) are walked newest first and "
             "stop at the page's end, so an answer reads about 100 rows and turns them into JSON "
             "(a time window sorts the ids of the rows in it first).")
    parts.append(text)
    if jq or grep:
        text = "- "
        if jq:
            text += (f"jq parses every line of the {query['log_bytes'] / 1e6:.0f} MB all.log for "
                     f"each question: {_span([t / 1e3 for t in jq], 1, ' s')}. ")
        if grep:
            text += (f"grep, which does not parse, took {_span(grep)} (a "
                     "fixed string over a file in the page cache), but only approximates the "
                     "question: it matches the text anywhere in the line, and has no notion of a "
                     "time window or of a level and those above it. ")
        if tail:
            text += (f"`tail` answers the newest lines in {_span(tail)}, "
                     "by reading the file from its end.")
        parts.append(text.rstrip())
    parts.append(
        f"- The store takes {size_ratio:.1f}× all.log's bytes per record (the row, its indexes "
        "and the full-text index): the price of those milliseconds. Its own retention "
        "(`store.max_age`, `store.max_size`) bounds it, apart from all.log's rotation.")
    return "\n".join(parts)


def report(args, flat, fill, paced, query, problems, elapsed):
    rates = [r["rate"] for r in paced]
    out = _intro(args, rates)
    out += ["", "### Ingestion, flat out", "", *_flat_tables(flat, fill)]
    if paced:
        out += ["", "### Paced", "", _paced_table(paced)]
    query_lines, size_ratio = _query_tables(query)
    window = query["window_start"]
    out += ["", f"### GET /logs on a store of {fmt(query['rows_in_store'])} records", "",
            f"{fmt(query['rows_in_store'])} rows in the store; times in milliseconds (jq: "
            f"{'median of ' if args.store_peer_runs > 1 else ''}{_runs(args.store_peer_runs)}; "
            f"grep/tail: median of {_runs(max(5, args.store_peer_runs))}). "
            + ("" if query["have_jq"] else "jq is not installed here (`apt-get install jq`), "
               "so its column is empty. ")
            + "The 5-minute window starts 12 hours before the fill "
            f"(epoch {window}), in the middle of its day.", "", *query_lines]
    if problems:
        out += ["", "### What went wrong", ""] + [f"- {p}" for p in problems]
    out += ["", f"The section took {elapsed:.0f} s.", "", "### Reading", "",
            _reading(flat, fill, paced, query, size_ratio)]
    return "\n".join(out)
