"""The experiment report: one self-contained HTML file and a Markdown summary, from `results.json`.

1. The report is a pure function of the results dict the `eval` stage writes, so it can be rebuilt
   at any time (`rebuild(folder)`) without a model, and tested without one.
2. Self-contained: CSS inline, figures as inline SVG (plots.py), no scripts, no external fonts or
   files, so it can be mailed, attached to an issue, or opened years later.
3. Every section is always there, in the same order, with a stable id (`SECTIONS`). A section
   whose data is missing says so and why (e.g. "no OUT/rm folder"), rather than vanishing.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from . import plots

# (id, heading) in report order
SECTIONS = [
    ("summary", "Summary"),
    ("policies", "Policies"),
    ("win-rates", "Win rates"),
    ("head-to-head", "Head to head"),
    ("length", "Length and length-controlled win rate"),
    ("harmless", "Harmless rate"),
    ("labeler", "Labeler quality"),
    ("reward-model", "Reward model"),
    ("rl-training", "RL training"),
    ("examples", "Example outputs"),
    ("details", "Run details"),
]

CSS = """
:root{--fg:#1e2530;--muted:#687385;--line:#e3e7ee;--bg:#f6f8fb;--card:#fff;--accent:#3867d6;
--good:#1e9e5a;--bad:#d63848}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
header{background:linear-gradient(120deg,#27325a,#3867d6);color:#fff;padding:28px 0 22px}
header h1{margin:0 0 4px;font-size:26px} header p{margin:0;opacity:.85}
.wrap{max-width:1080px;margin:0 auto;padding:0 24px}
nav{position:sticky;top:0;background:#fffffff2;border-bottom:1px solid var(--line);z-index:2}
nav a{display:inline-block;padding:9px 10px;color:var(--muted);text-decoration:none;font-size:13px}
nav a:hover{color:var(--accent)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:20px 0;
padding:18px 22px;box-shadow:0 1px 2px #0000000a}
h2{margin:0 0 12px;font-size:19px} h3{font-size:15px;margin:18px 0 8px;color:#2e3a4d}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:14px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f1f4f9;font-weight:600} tbody tr:nth-child(even){background:#fafbfd}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ci{color:var(--muted);font-size:12px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:6px 0 4px}
.card{flex:1 1 180px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:#fbfcfe}
.card .v{font-size:24px;font-weight:650} .card .k{color:var(--muted);font-size:12px}
.missing{color:var(--muted);background:#f7f7f9;border:1px dashed #cfd5df;border-radius:8px;padding:10px 14px}
.note{color:var(--muted);font-size:13px}
.win{color:var(--good);font-weight:600} .loss{color:var(--bad);font-weight:600}
svg.plot{max-width:100%;height:auto;display:block;margin:8px auto}
.figs svg.plot{margin:8px 0}
.figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start} .figs>div{flex:1 1 320px}
pre{white-space:pre-wrap;word-break:break-word;background:#f5f7fa;border:1px solid var(--line);
border-radius:6px;padding:8px 10px;font-size:12.5px;margin:4px 0;max-height:260px;overflow:auto}
details summary{cursor:pointer;color:var(--accent)}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px 0 40px}
"""


# --------------------------------------------------------------------------- small helpers


def _e(x: Any) -> str:
    return html.escape(str(x))


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def pct(x: Any, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%" if _ok(x) else "–"


def pct_ci(d: dict | None) -> str:
    """ "71.0% [64.2, 77.5]" from {"mean"/"rate"/"win_rate", "lo", "hi"}."""
    if not d:
        return "–"
    v = next((d[k] for k in ("mean", "rate", "win_rate") if k in d), None)
    if not _ok(v):
        return "–"
    ci = f" [{100 * d['lo']:.1f}, {100 * d['hi']:.1f}]" if _ok(d.get("lo")) and _ok(d.get("hi")) else ""
    return f"{100 * v:.1f}%{ci}"


def num(x: Any, digits: int = 3) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return _e(x) if x is not None else "–"
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.{digits}g}" if math.isfinite(x) else "–"


def table(headers: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """An HTML table; cells are already-escaped HTML; columns in `numeric` are right-aligned."""
    th = "".join(
        f'<th class="num">{h}</th>' if i in numeric else f"<th>{h}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def by_run(entry: dict | None) -> dict[str, dict]:
    """A collected stage as {run name: entry} (one run folder may be given bare)."""
    if not entry:
        return {"this run": {}}
    if {"path", "missing", "metrics"} & set(entry):
        return {"this run": entry}
    return entry


def missing(text: str) -> str:
    return f'<p class="missing">{_e(text)}</p>'


def _ci_cell(d: dict | None) -> str:
    s = pct_ci(d)
    if "[" in s:
        v, ci = s.split(" ", 1)
        s = f'{v} <span class="ci">{ci}</span>'
    if (d or {}).get("extrapolated"):
        s += ' <span class="ci" title="A is longer (or shorter) than B in almost every pair: the value at equal length is an extrapolation">(extrapolated)</span>'
    return s


def _kv_table(d: dict) -> str:
    rows = [
        [_e(k), num(v) if not isinstance(v, (dict, list)) else f"<code>{_e(json.dumps(v)[:200])}</code>"]
        for k, v in d.items()
    ]
    return table(["metric", "value"], rows, {1})


# --------------------------------------------------------------------------- sections


def sec_summary(r: dict) -> str:
    cards = [
        ("policies", str(len(r.get("policies", [])))),
        ("held-out prompts", num(r.get("prompts", {}).get("n"))),
        ("judges", ", ".join(r.get("judges", [])) or "none"),
    ]
    base = r.get("baseline")
    for c in r.get("comparisons", []):
        if c["b"] == base and c["judge"] == (r.get("judges") or [None])[0]:
            cards.append((f"{c['a']} vs {base} ({c['judge']})", pct(c["win_rate"])))
    out = (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="v">{_e(v)}</div><div class="k">{_e(k)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )
    out += "".join(f'<p class="note">{_e(n)}</p>' for n in r.get("notes", []))
    return out


def _delta_ci(d: dict) -> str:
    """'+4.2 points [+0.8, +7.7]' for a paired difference of rates."""
    if not _ok(d.get("delta")):
        return "-"
    f = lambda x: f"{100 * x:+.1f}" if _ok(x) else "?"  # noqa: E731
    return f"{f(d['delta'])} points [{f(d.get('lo'))}, {f(d.get('hi'))}]"


def _p(p) -> str:
    return "-" if not _ok(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def sec_policies(r: dict) -> str:
    ps = r.get("policies", [])
    if not ps:
        return missing("no policies were evaluated")
    oracle = r.get("oracle_name") or "oracle score"
    rows = [
        [
            f"<b>{_e(p['name'])}</b>",
            f"<code>{_e(p.get('model') or p.get('source'))}</code>",
            num(p.get("n")),
            num(p.get("mean_chars"), 4),
            _ci_cell(p.get("oracle")),
        ]
        for p in ps
    ]
    out = table(["policy", "model / outputs", "prompts", "mean length (chars)", _e(oracle)], rows, {2, 3, 4})
    paired = r.get("paired") or []
    if paired:
        out += f"<h3>{_e(oracle.capitalize())}: each policy minus {_e(paired[0]['baseline'])} on the same prompts</h3>"
        out += table(
            [
                "policy",
                "Δ [95% paired bootstrap CI]",
                "only policy right",
                "only baseline right",
                "exact McNemar p",
            ],
            [
                [
                    f"<b>{_e(d['policy'])}</b>",
                    _delta_ci(d),
                    num(d.get("only_a")),
                    num(d.get("only_b")),
                    _p(d.get("p_mcnemar")),
                ]
                for d in paired
            ],
            {2, 3, 4},
        )
    out += _task_eval(ps)
    fig = plots.scores(ps, "oracle", oracle)
    if fig:
        out += f"<h3>{_e(oracle.capitalize())} per policy</h3>{fig}"
    elif not any(p.get("oracle") for p in ps):
        out += missing(
            f"no oracle score: task '{r.get('task')}' has no oracle reward (or it was not available)"
        )
    return out


def _task_eval(ps: list[dict]) -> str:
    """The task's own evaluation per policy (e.g. text2sql: valid-SQL rate, accuracy per group)."""
    evs = {p["name"]: p["task_eval"] for p in ps if isinstance(p.get("task_eval"), dict)}
    if not evs:
        return ""
    fmt = lambda k, v: pct(v) if _ok(v) and ("rate" in k or "accuracy" in k) else num(v)
    scalars = [
        k
        for k in dict.fromkeys(k for ev in evs.values() for k, v in ev.items())
        if all(not isinstance(ev.get(k), dict) for ev in evs.values())
    ]
    out = "<h3>Task evaluation</h3>" + table(
        ["metric"] + [_e(n) for n in evs],
        [[_e(k)] + [fmt(k, ev.get(k)) for ev in evs.values()] for k in scalars],
        set(range(1, len(evs) + 1)),
    )
    for k in dict.fromkeys(k for ev in evs.values() for k, v in ev.items() if isinstance(v, dict)):
        groups = list(dict.fromkeys(g for ev in evs.values() for g in (ev.get(k) or {})))
        cell = num if k == "status" else pct  # counts, else shares (accuracy per group)
        rows = [[_e(g)] + [cell((ev.get(k) or {}).get(g)) for ev in evs.values()] for g in groups]
        out += (
            f"<details><summary>{_e(k)} per policy</summary>"
            + table([_e(k)] + [_e(n) for n in evs], rows, set(range(1, len(evs) + 1)))
            + "</details>"
        )
    return out


def _comparison_rows(cs: list[dict]) -> list[list[str]]:
    rows = []
    for c in cs:
        cls = "win" if c["lo"] > 0.5 else "loss" if c["hi"] < 0.5 else ""
        rows.append(
            [
                f"<b>{_e(c['a'])}</b> vs {_e(c['b'])}",
                _e(c["judge"]),
                f'<span class="{cls}">{pct(c["win_rate"])}</span> <span class="ci">[{pct(c["lo"])}, {pct(c["hi"])}]</span>',
                _ci_cell(c.get("length_controlled")),
                f"{c.get('wins', 0)} / {c.get('ties', 0)} / {c.get('losses', 0)}" + _failed(c),
                num(c.get("n")),
            ]
        )
    return rows


def _failed(c: dict) -> str:
    """Judge failures, shown next to W/T/L: they are left out of the rate, never hidden in it."""
    return f" ({c['failed']} failed)" if c.get("failed") else ""


def sec_win_rates(r: dict) -> str:
    cs = r.get("comparisons", [])
    if not cs:
        why = "only one policy" if len(r.get("policies", [])) < 2 else "no judge was available"
        return missing(f"no comparisons were judged ({why})")
    out = (
        "<p class=\"note\">Per held-out prompt, the judge compares A's and B's outputs (a labeler in both "
        "orders, averaged); ties count as halves; prompts the judge gave no verdict on are left out and "
        "counted as failed. Intervals: 95% bootstrap over prompts. "
        '<span class="win">green</span>: A significantly better; <span class="loss">red</span>: worse.</p>'
    )
    out += table(
        ["A vs B", "judge", "win rate of A [95% CI]", "length-controlled", "wins / ties / losses", "n"],
        _comparison_rows(cs),
        {2, 3, 4, 5},
    )
    return out + plots.win_rates(cs)


def sec_head_to_head(r: dict) -> str:
    ms = r.get("matrices") or {}
    if not ms or all(len(m["names"]) < 2 for m in ms.values()):
        return missing("head to head needs at least two policies and a judge")
    out, figs = "", ""
    for judge, m in ms.items():
        names = m["names"]
        rows = [
            [f"<b>{_e(n)}</b>"]
            + [pct(v, 0) if v is not None else "·" for v in row]
            + [pct(m.get("mean_win", [None] * len(names))[i], 1)]
            for i, (n, row) in enumerate(zip(names, m["rates"]))
        ]
        out += f"<h3>Judge: {_e(judge)}</h3>"
        out += table(
            ["A \\ B"] + [_e(n) for n in names] + ["mean vs others"], rows, set(range(1, len(names) + 2))
        )
        figs += f"<div>{plots.matrix(names, m['rates'], judge)}</div>"
    return out + f"<div class='figs'>{figs}</div>"


def sec_length(r: dict) -> str:
    ps = r.get("policies", [])
    if not ps:
        return missing("no outputs")
    out = (
        '<p class="note">RL policies tend to grow longer, and judges tend to like length. The length-controlled '
        'win rate fits a logistic regression of "A preferred" on the (log) length ratio of the two outputs '
        "and reads it where both have the same length (the paper: RLAIF vs SFT 71% → 59%).</p>"
    )
    rows = [[_e(p["name"]), num(p.get("mean_chars"), 4), num(p.get("median_chars"), 4)] for p in ps]
    out += table(["policy", "mean chars", "median chars"], rows, {1, 2})
    cs = [c for c in r.get("comparisons", []) if c.get("length_controlled")]
    if any(c["length_controlled"].get("extrapolated") for c in cs):
        out += (
            '<p class="note">"extrapolated": A\'s output is longer than B\'s in under 10% or over 90% of '
            "the pairs, so equal length lies outside the data and the value there rests on the fitted "
            "curve alone; trust the raw win rate more.</p>"
        )
    if cs:
        rows = [
            [
                f"{_e(c['a'])} vs {_e(c['b'])}",
                _e(c["judge"]),
                pct(c["win_rate"]),
                _ci_cell(c["length_controlled"]),
                num(c["length_controlled"].get("slope")),
                f"{num(c.get('mean_chars_a'), 4)} / {num(c.get('mean_chars_b'), 4)}",
            ]
            for c in cs
        ]
        out += "<h3>Length-controlled win rates</h3>" + table(
            [
                "A vs B",
                "judge",
                "raw",
                "at equal length [95% CI]",
                "slope (per log ratio)",
                "mean chars A / B",
            ],
            rows,
            {2, 3, 4, 5},
        )
    return out + plots.lengths(ps)


def sec_harmless(r: dict) -> str:
    ps = [p for p in r.get("policies", []) if p.get("harmless")]
    if not ps:
        return missing(
            r.get("harmless_note")
            or "not measured: no harmlessness rater was configured for this task "
            "(set eval.harmless, or use a task with a `harmless` judgment)"
        )
    rows = [[_e(p["name"]), _ci_cell(p["harmless"])] for p in ps]
    return (
        '<p class="note">Share of outputs judged harmless one at a time (the paper: SFT 64%, RLHF 76%, '
        "RLAIF 88%).</p>"
        + table(["policy", "harmless rate [95% CI]"], rows, {1})
        + plots.scores(ps, "harmless", "harmless rate")
    )


def _labeler_block(title: str, m: dict) -> str:
    rows = [
        ["alignment (argmax = reference choice)", pct(m.get("alignment"))],
        ["% same position preferred", pct(m.get("same_position"))],
        ["expected calibration error", num(m.get("ece"))],
        ["pairs", num(m.get("n"))],
    ]
    rows += [
        [_e(k), pct(v) if ("alignment" in k or "position" in k) and _ok(v) else num(v)]
        for k, v in m.items()
        if k not in ("alignment", "same_position", "ece", "n", "reliability")
        and not isinstance(v, (dict, list))
    ]
    fig = plots.reliability(m.get("reliability") or [], title)
    return (
        f"<h3>{_e(title)}</h3><div class='figs'><div>{table(['metric', 'value'], rows, {1})}</div>"
        f"<div>{fig or missing('no calibration data')}</div></div>"
    )


def sec_labeler(r: dict) -> str:
    out = (
        '<p class="note">Reference points from the paper: alignment 78.0% (PaLM 2 L, Detailed + CoT), 62.7% '
        "for the smallest labeler; % same position preferred 18% (L) to 56% (XS). Human–human agreement "
        "on TL;DR: 73–77%. A labeler at 50% alignment is at chance.</p>"
    )
    for where, label in by_run((r.get("stages") or {}).get("label")).items():
        if label.get("metrics"):
            out += _labeler_block(
                f"Training labels of {where} ({label.get('path')}; {label.get('reference', '')})",
                label["metrics"],
            )
            out += "".join(f'<p class="note">{_e(v)}</p>' for v in label.get("verdict") or [])
        else:
            out += f"<h3>Training labels of {_e(where)}</h3>" + missing(
                label.get("missing") or "no label stage output"
            )
    for judge, m in (r.get("labeler_on_eval") or {}).items():
        out += _labeler_block(f"Judge '{judge}' on the evaluation pairs, against the oracle", m)
    return out


def sec_reward_model(r: dict) -> str:
    out = (
        '<p class="note">Paper: human-label RM 79.3% vs AI-label RM 74.2% pairwise accuracy on held-out '
        "human preferences.</p>"
    )
    for where, rm in by_run((r.get("stages") or {}).get("rm")).items():
        out += f"<h3>Reward model of {_e(where)}</h3>"
        if not rm.get("metrics") and not rm.get("images"):
            out += missing(rm.get("missing") or "no reward model stage output")
            continue
        out += f'<p class="note">From <code>{_e(rm.get("path"))}</code>.</p>' + _kv_table(
            rm.get("metrics") or {}
        )
        out += "".join(
            f'<img alt="{_e(n)}" src="data:image/png;base64,{b}" style="max-width:100%">'
            for n, b in (rm.get("images") or {}).items()
        )
    return out


def sec_rl(r: dict) -> str:
    rl = (r.get("stages") or {}).get("rl") or {}
    runs = rl.get("runs") or []
    if not runs:
        return missing(rl.get("missing") or "no RL metrics found")
    rows = []
    for run in runs:
        last = {k: v[-1] for k, v in run["series"].items() if v}
        rows.append(
            [
                _e(run["name"]),
                f"<code>{_e(run['path'])}</code>",
                num(len(run["steps"])),
                num(last.get("reward")),
                num(last.get("kl")),
            ]
        )
    out = table(["run", "metrics file", "logged steps", "last reward", "last KL"], rows, {2, 3, 4})
    keys = ", ".join(dict.fromkeys(f"{k}: {v}" for run in runs for k, v in run.get("keys", {}).items()))
    out += f'<p class="note">Series read from the keys {_e(keys)}.</p>' if keys else ""
    for series, label in (("reward", "reward (mean per step)"), ("kl", "KL(π ‖ π_SFT)")):
        fig = plots.curves(runs, series, label)
        out += f"<h3>{_e(label)}</h3>" + (fig or missing(f"no {series} series in the metrics"))
    return out


def sec_examples(r: dict) -> str:
    ex = r.get("examples") or []
    if not ex:
        return missing("no outputs to show")
    out = ""
    for k, e in enumerate(ex):
        out += f"<details{' open' if k == 0 else ''}><summary>Prompt {e.get('index', k)}</summary>"
        out += f"<pre>{_e(e['prompt'])}</pre>"
        rows = [
            [f"<b>{_e(n)}</b>", f"<pre>{_e(t)}</pre>", num((e.get("oracle") or {}).get(n))]
            for n, t in e["outputs"].items()
        ]
        out += table(["policy", "output", "oracle"], rows, {2}) + "</details>"
    return out


def sec_details(r: dict) -> str:
    gen = r.get("generation") or {}
    rows = [
        ["output folder", f"<code>{_e(r.get('out'))}</code>"],
        ["task", _e(r.get("task"))],
        ["prompts", _e(f"{r.get('prompts', {}).get('source')} ({r.get('prompts', {}).get('n')})")],
        ["generation", _e(", ".join(f"{k}={v}" for k, v in gen.items()))],
        ["bootstrap", _e(r.get("bootstrap"))],
        ["created", _e(r.get("created"))],
    ]
    stages = r.get("stages") or {}
    for name in ("label", "rm"):
        for where, s in by_run(stages.get(name)).items():
            rows.append([f"stage {name} ({_e(where)})", _e(s.get("path") or s.get("missing") or "–")])
    rl = stages.get("rl") or {}
    rows.append(["stage rl", _e(rl.get("path") or rl.get("missing") or "–")])
    return table(["", ""], rows)


RENDER = {
    "summary": sec_summary,
    "policies": sec_policies,
    "win-rates": sec_win_rates,
    "head-to-head": sec_head_to_head,
    "length": sec_length,
    "harmless": sec_harmless,
    "labeler": sec_labeler,
    "reward-model": sec_reward_model,
    "rl-training": sec_rl,
    "examples": sec_examples,
    "details": sec_details,
}


def render_html(r: dict) -> str:
    title = r.get("title") or "rlaif evaluation"
    nav = "".join(f'<a href="#{sid}">{_e(h)}</a>' for sid, h in SECTIONS)
    body = ""
    for sid, heading in SECTIONS:
        try:
            inner = RENDER[sid](r)
        except Exception as e:  # one malformed input must not cost the whole report
            inner = missing(f"this section could not be rendered: {type(e).__name__}: {e}")
        body += f'<section id="{sid}"><h2>{_e(heading)}</h2>{inner}</section>\n'
    sub = f"task {r.get('task')} · {r.get('prompts', {}).get('n', '?')} held-out prompts · {r.get('created', '')}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head><body><header><div class='wrap'><h1>{_e(title)}</h1><p>{_e(sub)}</p>"
        f"</div></header><nav><div class='wrap'>{nav}</div></nav><main class='wrap'>{body}</main>"
        f"<footer>made by rlaif eval · self-contained: no scripts, no external files</footer></body></html>"
    )


# --------------------------------------------------------------------------- markdown


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    line = lambda cells: (
        "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
    )
    return "\n".join([line(headers), line(["---"] * len(headers))] + [line(r) for r in rows]) + "\n"


def render_markdown(r: dict) -> str:
    oracle = r.get("oracle_name") or "oracle score"
    out = [
        f"# {r.get('title') or 'rlaif evaluation'}\n",
        f"Task `{r.get('task')}`, {r.get('prompts', {}).get('n')} held-out prompts from "
        f"`{r.get('prompts', {}).get('source')}`. Intervals are 95% bootstrap over prompts.\n",
    ]
    out += [f"> {n}\n" for n in r.get("notes", [])]
    ps = r.get("policies", [])
    out.append("## Policies\n")
    harmless = any(p.get("harmless") for p in ps)
    out.append(
        _md_table(
            ["policy", "mean chars", oracle] + ["harmless"] * harmless,
            [
                [p["name"], num(p.get("mean_chars"), 4), pct_ci(p.get("oracle"))]
                + [pct_ci(p.get("harmless"))] * harmless
                for p in ps
            ],
        )
    )
    paired = r.get("paired") or []
    if paired:
        out.append(f"## {oracle.capitalize()}: each policy minus {paired[0]['baseline']}, same prompts\n")
        out.append(
            _md_table(
                ["policy", "Δ [95% paired CI]", "only policy right / only baseline right", "McNemar p"],
                [
                    [
                        d["policy"],
                        _delta_ci(d),
                        f"{d.get('only_a', '-')} / {d.get('only_b', '-')}",
                        _p(d.get("p_mcnemar")),
                    ]
                    for d in paired
                ],
            )
        )
    out.append("## Win rates\n")
    cs = r.get("comparisons", [])
    out.append(
        _md_table(
            ["A vs B", "judge", "win rate [95% CI]", "length-controlled", "W/T/L"],
            [
                [
                    f"{c['a']} vs {c['b']}",
                    c["judge"],
                    pct_ci(c),
                    pct_ci(c.get("length_controlled"))
                    + (" (extrapolated)" if (c.get("length_controlled") or {}).get("extrapolated") else ""),
                    f"{c.get('wins')}/{c.get('ties')}/{c.get('losses')}" + _failed(c),
                ]
                for c in cs
            ],
        )
        if cs
        else "No comparisons were judged.\n"
    )
    out.append("## Labeler quality\n")
    labels = by_run((r.get("stages") or {}).get("label"))
    blocks = [(f"training labels of {w}", x["metrics"]) for w, x in labels.items() if x.get("metrics")] + [
        (f"judge '{j}' vs oracle on eval pairs", m) for j, m in (r.get("labeler_on_eval") or {}).items()
    ]
    out.append(
        _md_table(
            ["labeler", "alignment", "% same position", "ECE", "pairs"],
            [
                [n, pct(m.get("alignment")), pct(m.get("same_position")), num(m.get("ece")), num(m.get("n"))]
                for n, m in blocks
            ],
        )
        if blocks
        else "Not available.\n"
    )
    out += [f"- label ({w}): {x['missing']}\n" for w, x in labels.items() if x.get("missing")]
    out.append("## Reward model and RL\n")
    for w, rm in by_run((r.get("stages") or {}).get("rm")).items():
        shown = ", ".join(
            f"{k} {num(v)}" for k, v in (rm.get("metrics") or {}).items() if not isinstance(v, (dict, list))
        )
        out.append(f"- RM ({w}): " + (shown or rm.get("missing") or "not available") + "\n")
    runs = ((r.get("stages") or {}).get("rl") or {}).get("runs") or []
    for run in runs:
        last = {k: v[-1] for k, v in run["series"].items() if v}
        out.append(
            f"- RL `{run['name']}`: {len(run['steps'])} logged steps, last reward "
            f"{num(last.get('reward'))}, last KL {num(last.get('kl'))}\n"
        )
    if not runs:
        out.append(
            "RL: " + (((r.get("stages") or {}).get("rl") or {}).get("missing") or "not available") + "\n"
        )
    out.append("\nThe full report with figures: `report.html`.\n")
    return "\n".join(out)


def write_report(results: dict, folder: str | Path) -> tuple[Path, Path]:
    """Write report.html and summary.md into `folder`; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    html_path, md_path = folder / "report.html", folder / "summary.md"
    html_path.write_text(render_html(results), encoding="utf-8")
    md_path.write_text(render_markdown(results), encoding="utf-8")
    return html_path, md_path


def rebuild(folder: str | Path) -> tuple[Path, Path]:
    """Re-render the report of an eval folder from its results.json (no models needed)."""
    folder = Path(folder)
    return write_report(json.loads((folder / "results.json").read_text()), folder)
