import json

import pytest

from rlaif.config import load_config
from rlaif.runs import JsonlAppender, Run, StageDone, StaleRunError, read_done


def test_manifest_skip_stale_force(tmp_path):
    cfg = load_config(None, [f"out={tmp_path}"])
    r = Run(cfg, "sft", ["model", "sft"]).open()
    m = json.loads((r.dir / "manifest.json").read_text())
    assert m["status"] == "running" and m["config"]["out"] == str(tmp_path) and "torch" in m["versions"]
    r.finish(loss=1.0)
    with pytest.raises(StageDone):
        Run(cfg, "sft", ["model", "sft"]).open()
    # a change in another stage's section does not make sft stale
    Run(load_config(None, [f"out={tmp_path}", "sample.n=9"]), "sft", ["model", "sft"])
    with pytest.raises(StageDone):
        Run(load_config(None, [f"out={tmp_path}", "sample.n=9"]), "sft", ["model", "sft"]).open()
    cfg2 = load_config(None, [f"out={tmp_path}", "sft.lr=0.1"])
    with pytest.raises(StaleRunError, match="--force"):
        Run(cfg2, "sft", ["model", "sft"]).open()
    r2 = Run(cfg2, "sft", ["model", "sft"]).open(force=True)
    assert json.loads((r2.dir / "manifest.json").read_text())["status"] == "running"


def test_appender_drops_torn_line(tmp_path):
    f = tmp_path / "x.jsonl"
    with JsonlAppender(f) as a:
        a.write_many([{"i": 0}, {"i": 1}])
    with f.open("a") as h:
        h.write('{"i": 2, "trunc')  # a kill mid-write
    assert [r["i"] for r in read_done(f)] == [0, 1]
    with JsonlAppender(f) as a:
        a.write({"i": 2})
    assert [r["i"] for r in read_done(f)] == [0, 1, 2]
