import json

import pytest

from rlaif.core.records import RecordError, read_records, response_text, validate


def test_sft_aliases_and_chat_forms(tmp_path):
    f = tmp_path / "d.jsonl"
    rows = [
        {"prompt": "p", "output": "o"},
        {"prompt": "p", "completion": "c"},
        {
            "prompt": [{"role": "user", "content": "hi"}],
            "completion": [{"role": "assistant", "content": "yo"}],
        },
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    ]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    recs = read_records(f, "sft")
    assert [r["output"] for r in recs] == ["o", "c", "yo", "a"]
    assert recs[3]["prompt"] == [{"role": "user", "content": "q"}]


def test_errors_name_file_line_and_field(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"prompt": "p", "output": "o"}\n{"prompt": "p"}\n')
    with pytest.raises(RecordError, match=r"d.jsonl:2: field 'output' is missing"):
        read_records(f, "sft")
    f.write_text('{"prompt": "p", "output": "o"}\n{"prompt": "p", "output": \n')
    with pytest.raises(RecordError, match=r"d.jsonl:2: not valid JSON"):
        read_records(f, "sft")
    f.write_text('{"prompt": 3, "output": "o"}\n')
    with pytest.raises(RecordError, match=r"d.jsonl:1: field 'prompt' must be a string"):
        read_records(f, "sft")
    f.write_text("\n")
    with pytest.raises(RecordError, match="no records"):
        read_records(f, "sft")
    with pytest.raises(RecordError, match="file not found"):
        read_records(tmp_path / "nope.jsonl", "sft")


def test_comparison_and_samples_checks():
    ok = validate({"prompt": "p", "response_a": "a", "response_b": "b", "p_a": 1}, "comparison", "x")
    assert ok["p_a"] == 1.0
    for bad in (1.5, -0.1, "0.5", None, True):
        with pytest.raises(RecordError, match="'p_a' must be a number"):
            validate({"prompt": "p", "response_a": "a", "response_b": "b", "p_a": bad}, "comparison", "x")
    with pytest.raises(RecordError, match="'completions' must be a non-empty list"):
        validate({"prompt": "p", "completions": []}, "samples", "f:3")
    pref = validate(
        {"prompt": "p", "chosen": [{"role": "assistant", "content": "c"}], "rejected": "r"}, "preference", "x"
    )
    assert pref["chosen"] == "c" and response_text("s") == "s"


def test_json_and_parquet(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps([{"prompt": "a"}, {"prompt": "b"}]))
    assert len(read_records(f, "prompt")) == 2
    f.write_text(json.dumps([{"prompt": "a"}, {"nope": "b"}]))
    with pytest.raises(RecordError, match=r"d.json\[1\]: field 'prompt' is missing"):
        read_records(f, "prompt")
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    p = tmp_path / "d.parquet"
    pq.write_table(pa.table({"prompt": ["x", "y"], "output": ["1", "2"]}), p)
    assert [r["output"] for r in read_records(p, "sft", limit=1)] == ["1"]


def test_gzipped_jsonl(tmp_path):
    import gzip

    f = tmp_path / "d.jsonl.gz"
    with gzip.open(f, "wt", encoding="utf-8") as h:
        h.write('{"prompt": "p", "output": "o"}\n{"prompt": "p"}\n')
    with pytest.raises(RecordError, match=r"d.jsonl.gz:2: field 'output' is missing"):
        read_records(f, "sft")
