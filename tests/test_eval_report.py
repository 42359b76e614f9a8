"""The report: every section present, missing stages said plainly, and it renders in a real browser."""

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from rlaif.evaluation import collect
from rlaif.evaluation.report import SECTIONS, rebuild, render_html, render_markdown, write_report
from rlaif.evaluation.results import comparison, labeler_vs_reference, matrices, policy_summary


def synthetic_results(tmp_path=None) -> dict:
    """A full results dict built with the real aggregation functions on synthetic judgments."""
    rng = np.random.default_rng(0)
    n = 60
    outs = {
        name: ["SELECT name FROM t" + " WHERE x = 1" * int(k) for k in rng.poisson(lam, n)]
        for name, lam in (("sft", 1.0), ("rlhf", 2.0), ("rlaif", 2.5))
    }
    pols = [
        policy_summary(
            name,
            o,
            oracle=(rng.random(n) < acc).astype(float),
            harmless=rng.random(n) * 0.6 + 0.3,
            source=f"runs/x/{name}",
            model=f"runs/x/{name}/checkpoint",
            n_boot=300,
        )
        for (name, o), acc in zip(outs.items(), (0.3, 0.45, 0.42))
    ]
    comps = []
    for (a, b), edge in {("rlhf", "sft"): 0.7, ("rlaif", "sft"): 0.65, ("rlhf", "rlaif"): 0.52}.items():
        for judge, noise in (("oracle", 0.0), ("labeler", 0.2)):
            p = np.clip(rng.random(n) * 0.4 + edge - 0.2 + rng.normal(0, noise, n), 0, 1)
            p[rng.random(n) < 0.1] = 0.5
            comps.append(comparison(a, b, judge, p.tolist(), outs[a], outs[b], n_boot=300, lc_boot=50))
    p_a = rng.random(200)
    human = (rng.random(200) < p_a).astype(float)
    lab = labeler_vs_reference(
        p_a.tolist(), human.tolist(), rng.random(200).tolist(), rng.random(200).tolist()
    )
    steps = list(range(0, 200, 2))
    rl_runs = [
        {
            "name": arm,
            "path": f"runs/x/{arm}/rl/metrics.jsonl",
            "steps": steps,
            "series": {
                "reward": [float(np.tanh(s / 80) * gain + rng.normal(0, 0.05)) for s in steps],
                "kl": [float(s / 200 * gain + abs(rng.normal(0, 0.01))) for s in steps],
            },
            "keys": {"reward": "reward/mean", "kl": "kl/mean"},
        }
        for arm, gain in (("rlhf", 0.8), ("rlaif", 0.6))
    ]
    return {
        "title": "Synthetic RLHF vs RLAIF",
        "task": "text2sql",
        "out": "runs/x",
        "created": "2026-01-01 00:00 UTC",
        "prompts": {"source": "task:text2sql/test", "n": n},
        "baseline": "sft",
        "generation": {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 64},
        "bootstrap": "300 resamples",
        "oracle_name": "execution accuracy",
        "policies": pols,
        "judges": ["oracle", "labeler"],
        "comparisons": comps,
        "matrices": matrices(comps, ["sft", "rlhf", "rlaif"]),
        "labeler_on_eval": {"labeler": lab},
        "stages": {
            "label": {"this run": {"path": "runs/x/label", "metrics": lab, "reference": "oracle"}},
            "rm": {"this run": {"missing": "no runs/x/rm folder: no reward model was trained"}},
            "rl": {"runs": rl_runs, "path": "runs/x/rl"},
        },
        "examples": [
            {
                "index": i,
                "prompt": f"###Input: question {i} <b>not bold</b>\n###Response:",
                "outputs": {k: v[i] for k, v in outs.items()},
                "oracle": {"sft": 0.0, "rlhf": 1.0},
            }
            for i in range(3)
        ],
        "notes": ["synthetic data for the report test"],
    }


def _section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def test_report_has_every_section_in_order_with_figures():
    html = render_html(synthetic_results())
    assert _section_ids(html) == [sid for sid, _ in SECTIONS]
    assert "could not be rendered" not in html
    assert html.count("<svg") >= 8  # win rates, 2 matrices, lengths, oracle, harmless, 2 calibration, 2 RL
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html  # user text is escaped
    assert "no reward model was trained" in html  # a missing stage is said, not skipped
    assert "<script" not in html and "@import" not in html  # self-contained: nothing fetched
    assert re.findall(r'(?:src|href)="(?!data:|#)([^"]*)"', html) == []


def test_report_of_an_empty_run_still_has_every_section():
    html = render_html({"policies": [], "comparisons": []})
    assert _section_ids(html) == [sid for sid, _ in SECTIONS]
    assert "could not be rendered" not in html
    assert html.count('class="missing"') >= 8


def test_markdown_summary_and_rebuild(tmp_path):
    r = synthetic_results()
    md = render_markdown(r)
    assert "## Win rates" in md and "| rlhf vs sft | oracle |" in md and "execution accuracy" in md
    (tmp_path / "results.json").write_text(json.dumps(r))
    html_path, md_path = rebuild(tmp_path)
    assert html_path.read_text().startswith("<!DOCTYPE html>") and md_path.read_text() == md


def test_collect_reads_stages_defensively(tmp_path):
    assert "has not run" in collect.collect_label(tmp_path)["missing"]
    assert "no reward model" in collect.collect_rm(tmp_path)["missing"]
    assert "no RL metrics" in collect.collect_rl({"rl": tmp_path / "rl"})["missing"]
    (tmp_path / "rl").mkdir()
    lines = [
        json.dumps({"step": s, "reward/mean": s / 10, "reward/std": 1.0, "kl/mean": s / 100, "kl/coef": 0.05})
        for s in range(5)
    ]
    (tmp_path / "rl" / "metrics.jsonl").write_text("\n".join(lines) + '\n{"step": 5, "rew')  # torn last line
    rl = collect.collect_rl({"rlaif": tmp_path / "rl"})
    run = rl["runs"][0]
    assert run["keys"] == {"reward": "reward/mean", "kl": "kl/mean"} and run["series"]["kl"][-1] == 0.04
    (tmp_path / "rm").mkdir()
    (tmp_path / "rm" / "manifest.json").write_text(
        json.dumps({"results": {"eval": {"accuracy": 0.7, "pairs": 10}}})
    )
    assert collect.collect_rm(tmp_path)["metrics"]["eval/accuracy"] == 0.7
    (tmp_path / "label").mkdir()
    rows = [
        {
            "prompt": "p",
            "response_a": "a",
            "response_b": "b",
            "p_a": p,
            "p_ab": p,
            "p_ba": 1 - p,
            "gold_p_a": g,
        }
        for p, g in ((0.8, 1.0), (0.3, 1.0), (0.6, 0.0), (0.9, 1.0))
    ]
    (tmp_path / "label" / "comparisons.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    label = collect.collect_label(tmp_path)
    assert label["metrics"]["alignment"] == 0.5 and "gold_p_a" in label["reference"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (make install-dev installs it)")
def test_report_renders_in_headless_chromium(tmp_path):
    html_path, _ = write_report(synthetic_results(), tmp_path / "eval")
    profile = tmp_path / "profile"
    base = [_chromium(), *CHROME_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run(
        base + ["--dump-dom", html_path.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _section_ids(dom.stdout) == [sid for sid, _ in SECTIONS]  # the browser parsed every section
    assert dom.stdout.count("<svg") >= 8 and "Synthetic RLHF vs RLAIF" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run(
        base + [f"--screenshot={shot}", "--window-size=1280,3000", html_path.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 20_000  # a blank page is a few KB
    if os.environ.get("RLAIF_REPORT_SHOT"):
        shutil.copy(shot, os.environ["RLAIF_REPORT_SHOT"])
