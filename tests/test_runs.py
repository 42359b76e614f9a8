import json

import pytest

from rlaif.core.config import load_config
from rlaif.core.runs import JsonlAppender, Run, StageDone, StaleRunError, read_done


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


def _open(cfg, data, model_dir):
    r = Run(cfg, "rm", ["rm"])
    r.add_input("data", data)
    r.add_input("model", model_dir)
    return r.open()


def test_a_changed_input_redoes_the_stage_and_says_which(tmp_path, capsys):
    cfg = load_config(overrides={"out": str(tmp_path / "run")})
    data = tmp_path / "comparisons.jsonl"
    data.write_text('{"p_a": 0.9}\n')
    model = tmp_path / "ckpt"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"\0" * 64)
    r = _open(cfg, data, model)
    (r.dir / "out.jsonl").write_text("old result\n")
    r.finish()
    with pytest.raises(StageDone):  # same config, same inputs: skipped
        _open(cfg, data, model)
    data.write_text('{"p_a": 0.1}\n')  # same size, other content
    r = _open(cfg, data, model)
    assert "rm: input data (comparisons.jsonl) changed since the last run; redoing" in capsys.readouterr().out
    assert not (r.dir / "out.jsonl").exists()  # the stale output is gone, not mixed in
    r.finish()
    with pytest.raises(StageDone):
        _open(cfg, data, model)
    # a checkpoint whose weights change in place (same name, same size) is a changed input too
    (model / "model.safetensors").write_bytes(b"\1" * 64)
    _open(cfg, data, model).finish()
    assert "input model (ckpt) changed" in capsys.readouterr().out
    # bookkeeping inside a folder is not content
    (model / "manifest.json").write_text("{}")
    with pytest.raises(StageDone):
        _open(cfg, data, model)


def test_records_and_ids_are_fingerprinted_by_content(tmp_path):
    cfg = load_config(overrides={"out": str(tmp_path / "run")})

    def open_with(records, model_id):
        r = Run(cfg, "sft", ["sft"])
        r.add_input("data", None, records=records, source="task:x/sft")
        r.add_input("model", None, source=model_id)
        return r.open()

    open_with([{"prompt": "a", "output": "b"}], "org/model").finish()
    with pytest.raises(StageDone):
        open_with([{"prompt": "a", "output": "b"}], "org/model")
    open_with([{"prompt": "a", "output": "c"}], "org/model").finish()  # the task's data changed
    open_with([{"prompt": "a", "output": "c"}], "org/other").finish()  # another hub model
    with pytest.raises(StageDone):
        open_with([{"prompt": "a", "output": "c"}], "org/other")


def test_large_file_digests_are_cached_by_mtime(tmp_path, monkeypatch):
    from rlaif.core import runs

    monkeypatch.setenv("RLAIF_CACHE", str(tmp_path / "cache"))
    big = tmp_path / "weights.bin"
    big.write_bytes(b"\0" * (1 << 24))
    first = runs.file_hash(big)
    reads = []
    real = runs._content_sha256
    monkeypatch.setattr(runs, "_content_sha256", lambda p: reads.append(p) or real(p))
    assert runs.file_hash(big) == first and not reads  # served from the digest cache
    with big.open("r+b") as f:  # same size, new content, new mtime
        f.write(b"\1")
    assert runs.file_hash(big) != first and reads == [big]
