"""pipeline_report.py - the text and tables of the `pipeline` section of
docs/BENCHMARKS.md, from the figures pipeline_throughput.py measured.

Every number in the prose is this run's: the fraction stated at the end is
derived from the runs, never written by hand.
"""

from benchlib import fmt, spread, table


def _median_range(values, digits):
    med, lo, hi, _ = spread(values)
    return fmt(med, digits), f"{fmt(lo, digits)} – {fmt(hi, digits)}"


def _paired_ratios(results, name, key):
    """Per round, the configuration's figure over raw's: a round's runs share
    the machine's mood, so their ratio moves less than either figure."""
    return [run[key] / raw[key] for run, raw in zip(results[name], results["raw"])
            if run["ok"] and raw["ok"]]


def _yaml_block(text):
    return ["  ```yaml", *("  " + line for line in text.strip().splitlines()), "  ```"]


def report(args, configs, results, instructions, profile, measured, elapsed):
    yaml = {name: text for name, _, text in configs}
    out = [
        "How much of raw ingestion's speed ulogd keeps with its default pipeline (lifting JSON "
        "and logfmt, multiline joining, default redaction), and what a typical rule set adds. "
        "`build/bench/pipeline_feed` ([bench/pipeline_feed.c](../bench/pipeline_feed.c)) speaks "
        "the shim's protocol to a real `build/ulogd` and sends it one message per log call, as "
        "fast as ulogd takes them (it waits in `poll()` whenever ulogd's socket is full), from a "
        "corpus of what services print: plain text with and without a level word, Python "
        "logging, nginx, Apache, glog, logback, JSON from pino, zap and structlog, logfmt; a "
        "secret every ~100 lines, a Python traceback (7 lines in one write) every ~200, a card "
        "number every ~1000. No line is below INFO, so every line goes the whole way to all.log. "
        "ulogd runs with `ULOG_ENV=production`, in a directory of its own, started afresh for "
        f"every run; {fmt(args.pipeline_lines)} lines per run, {args.pipeline_runs} runs of each "
        "configuration, alternating (the order rotates from round to round):",
        "",
        "- **raw ingestion**: the least ulogd does with a line: receive, assemble, scan for a "
        "level word, encode the record, write it:",
        "",
        *_yaml_block(yaml["raw"]),
        "- **default pipeline**: no configuration file at all;",
        "- **default + 6 rules**: a drop by regex on the message (it matches the feeder's "
        "kube-probe `/healthz` lines, ~4 % of them, which the feeder counts), a set, a route by "
        "service (every line also goes to `svc-pipeline_feed.log`), a rate limit that never "
        "triggers, minimum levels per service and component, and a redact rule:",
        "",
        *_yaml_block(yaml["rules"]),
        "",
        "Per run: **lines/s** is the lines sent over the wall time from the first send until "
        "ulogd has taken the last message off its socket (the feeder polls `SIOCOUTQ`); that "
        "leaves out the up to 100 ms for which ulogd gathers records before it writes them. "
        "**ulogd CPU µs/line** is ulogd's CPU time (all threads, in nanoseconds from the "
        "kernel's per-thread `schedstat`) from before the first line until all.log holds the "
        "last, over the lines sent. **all.log MB/s** is what all.log grew by over the same wall "
        "time; **peak RSS** is ulogd's `VmHWM`. ulogd handles lines on one thread, so its CPU "
        "per line is what bounds its throughput; lines/s also depends on the feeder, which "
        "shares the 2 cores. A run counts only if every line sent is in all.log (a joined "
        "traceback counts all its lines) or was dropped by the drop rule, and ulogd's own "
        "counts at exit agree (dropped by rule = the feeder's `/healthz` lines, rate-limited = "
        "0); otherwise it is listed as failed under *Delivery*, never as a speed.",
        "",
        "Reproduce with `make bench`, or, once `make all build/bench/pipeline_feed` has run:",
        "",
        "```sh",
        f"python3 bench/run_shim_cost.py --only pipeline --pipeline-runs {args.pipeline_runs} "
        f"--pipeline-lines {args.pipeline_lines} "
        f"--pipeline-callgrind-lines {args.pipeline_callgrind_lines}",
        "```",
    ]
    w = out.append
    good = {name: [r for r in results[name] if r["ok"]] for name, _, _ in configs}
    capacity = {}
    if good["raw"]:
        w("")
        w("### Throughput")
        w("")
        w("Over the runs that delivered every line: median and min – max. *CPU/line × raw* "
          "compares each run with the raw ingestion run of its round (median and min – max of "
          "those ratios); *capacity vs raw* is its inverse: the share of raw ingestion's rate "
          "that ulogd keeps when its CPU is the limit.")
        w("")
        w(_throughput_table(configs, results, good, capacity))
        w("")
        w(_resources_table(configs, good))
        w("")
        w("Medians. *ulogd CPU in the kernel* is system time over user + system time "
          "(`/proc/PID/stat`): receiving the messages and writing the files. *ulogd busy* is its "
          "CPU time over the wall time: near 100 %, ulogd set the pace; below, it sometimes "
          "waited for the feeder." + _pace_note(good["raw"]))
    w("")
    w("### Delivery")
    w("")
    w(_delivery(configs, results, good))
    if instructions:
        w("")
        w("### Instructions per line")
        w("")
        w("User-space instructions per line counted by `valgrind --tool=callgrind` inside ulogd's "
          "event loop (`--toggle-collect=server_run`: the start-up, where every regex is "
          f"compiled, is left out), one run of {fmt(args.pipeline_callgrind_lines)} lines per "
          "configuration. They do not move from run to run as times do, but they leave out the "
          "kernel: receiving each message and writing the files, which costs every "
          "configuration alike and is most of raw ingestion's CPU time (see above).")
        w("")
        raw = instructions["raw"]
        w(table(["configuration", "instructions/line", "× raw"],
                [[label, fmt(instructions[name]), f"{instructions[name] / raw:.2f}"]
                 for name, label, _ in configs]))
    if profile:
        w("")
        w(_what_limits_it(profile))
    w("")
    w("### The stated fraction")
    w("")
    w(_stated_fraction(capacity, good, instructions))
    w("")
    w(f"The measured runs took {fmt(measured)} s; the whole section, callgrind included, "
      f"{fmt(elapsed)} s.")
    return "\n".join(out)


def _pace_note(raw_runs):
    busy = spread([r["ulogd_busy"] for r in raw_runs])[0]
    if busy >= 0.95:
        return ""
    return (f" With raw ingestion ulogd was busy {100 * busy:.0f} % of the time: there the "
            "feeder, on the other core, was part of the limit, and ulogd, woken more often for "
            "fewer messages each time, paid somewhat more per line than it would flat out, so "
            "the capacity fractions lean to the generous side.")


def _throughput_table(configs, results, good, capacity):
    rows = []
    for name, label, _ in configs:
        runs = good[name]
        if not runs:
            rows.append([label, "all runs failed", "", "", "", "", ""])
            continue
        lps = _median_range([r["lines_per_s"] for r in runs], 0)
        cpu = _median_range([r["cpu_us"] for r in runs], 2)
        ratio, cap = "1.00", "100 %"
        ratios = _paired_ratios(results, name, "cpu_us")
        if name != "raw" and ratios:
            med, lo, hi, _ = spread(ratios)
            capacity[name] = (1 / med, 1 / hi)
            ratio = f"{med:.2f} ({lo:.2f} – {hi:.2f})"
            cap = f"{100 / med:.0f} % ({100 / hi:.0f} – {100 / lo:.0f} %)"
        rows.append([label, lps[0], lps[1], cpu[0], cpu[1], ratio, cap])
    return table(["configuration", "lines/s", "min – max", "ulogd CPU µs/line", "min – max",
                  "CPU/line × raw", "capacity vs raw"], rows)


def _resources_table(configs, good):
    rows = []
    for name, label, _ in configs:
        runs = good[name]
        if not runs:
            continue

        def med(key, digits=1):
            return fmt(spread([r[key] for r in runs])[0], digits)
        rows.append([label, med("mb_per_s"), med("bytes_per_line", 0),
                     f"{med('peak_mib')} ({fmt(max(r['peak_mib'] for r in runs), 1)})",
                     f"{100 * spread([r['system_share'] for r in runs])[0]:.0f} %",
                     f"{100 * spread([r['ulogd_busy'] for r in runs])[0]:.0f} %"])
    return table(["configuration", "all.log MB/s", "all.log bytes/line", "peak RSS MiB (max)",
                  "ulogd CPU in the kernel", "ulogd busy"], rows)


def _delivery(configs, results, good):
    rows, failures = [], []
    for name, label, _ in configs:
        runs = results[name]
        rows.append([label, f"{len(good[name])} of {len(runs)}",
                     fmt(sum(r["feed"]["lines"] for r in runs)),
                     fmt(sum(r["delivered"] for r in runs)),
                     fmt(sum(r["dropped"] for r in runs))])
        failures += [f"- failed run of {label}: {'; '.join(r['problems'])}"
                     for r in runs if not r["ok"]]
    text = table(["configuration", "runs complete", "lines sent", "lines in all.log",
                  "dropped by the drop rule"], rows)
    return "\n".join([text, "", *failures] if failures else [text])


def _label(function, obj):
    if obj == "???":
        return "regex code compiled by PCRE2's JIT (callgrind cannot name it)"
    if obj.startswith("libjansson") and function.startswith("0x"):
        return "a jansson function (the library has no symbols)"
    return f"`{function}`"


def _what_limits_it(profile):
    lines, total = profile["lines"], profile["total"]
    inclusive = {f: n for n, f, _ in profile["inclusive"]}
    out = ["### What limits it", "",
           f"ulogd's default pipeline under callgrind, {fmt(lines)} lines: the functions that "
           "execute the most instructions themselves (*self*), and the functions below "
           "`pipeline_line`, which every line passes through, with everything they call "
           "(*inclusive*); per line, and as a share of the event loop's instructions.", ""]
    rows = [[_label(f, o), o, fmt(n / lines), f"{100 * n / total:.1f} %"]
            for n, f, o in profile["self"][:8]]
    out += [table(["self", "object", "instructions/line", "share"], rows), ""]
    below = inclusive.get("pipeline_line", total)
    rows = [[f"`{f}`", o, fmt(n / lines), f"{100 * n / total:.1f} %"]
            for n, f, o in profile["inclusive"]
            if n < below and o != "???" and not f.startswith("0x")][:8]
    out += [table(["inclusive", "object", "instructions/line", "share"], rows), ""]

    def share(test):
        return 100 * sum(n for n, f, o in profile["self"] if test(f, o)) / total
    jit = share(lambda f, o: o == "???")
    jansson = share(lambda f, o: o.startswith("libjansson"))
    alloc = share(lambda f, o: o.startswith("libc") and any(
        k in f for k in ("malloc", "free", "calloc", "realloc", "consolidate")))
    parts = [f"Of the event loop's instructions, {jit:.0f} % run in JIT-compiled regex code, "
             f"{jansson:.0f} % in jansson (parsing the JSON lines that are lifted, building and "
             f"dumping records' metadata) and {alloc:.0f} % in malloc and free."]
    known = [("multiline_formats_start", "the multiline start test (one combined regex of "
              "every built-in format's first lines, tried on every line)"),
             ("lift_line", "lifting JSON and logfmt"),
             ("redactor_apply_text", "the default redaction of the message"),
             ("redactor_apply_json", "the default redaction of lifted fields"),
             ("outputs_write", "encoding the record and queueing it for the files")]
    found = [f"{what}, {fmt(inclusive[f] / lines)} (`{f}`)" for f, what in known
             if f in inclusive]
    if found:
        parts.append("Per line, inclusive: " + "; ".join(found) + ".")
    return "\n".join(out + [" ".join(parts)])


def _stated_fraction(capacity, good, instructions):
    if not capacity:
        return ("No configuration completed a run next to a complete raw ingestion run: "
                "no fraction to state.")
    parts = []
    for name, label in (("default", "default pipeline"), ("rules", "default + 6 rules")):
        if name not in capacity:
            continue
        median, worst = capacity[name]
        floor = int(worst * 20) / 20  # the worst round, rounded down to 5 %
        lps = spread([r["lines_per_s"] for r in good[name]])[0] / \
            spread([r["lines_per_s"] for r in good["raw"]])[0]
        text = (f"- **{label}: at least {100 * floor:.0f} % of raw ingestion's throughput** on "
                f"this machine. Per CPU second ulogd handles {100 * median:.0f} % as many lines "
                f"as with raw ingestion (median of the rounds; {100 * worst:.0f} % in the worst "
                f"round), and the measured lines/s are {100 * lps:.0f} % of raw ingestion's")
        if instructions:
            user_space = instructions["raw"] / instructions[name]
            text += (f"; counting user-space instructions alone, {100 * user_space:.0f} %, "
                     "the kernel's work being left out")
        parts.append(text + ".")
    return "\n".join(parts)
