"""Loaders for TL;DR and HH-RLHF, on small local files with the real column names."""

import json

import pytest

from rlaif.core.records import RecordError, read_records
from rlaif.tasks import loaders

TLDR_SFT = [
    {
        "prompt": "SUBREDDIT: r/cats\nTITLE: My cat\nPOST: She sits on my keyboard.\nTL;DR:",
        "label": " Cat likes keyboard.",
    }
]


def comparison(choice=1, post="I moved to a new city and have no friends."):
    return {
        "info": {
            "id": "t3_abc",
            "post": post,
            "title": "Lonely",
            "subreddit": "relationships",
            "site": None,
            "article": None,
        },
        "summaries": [
            {"text": " I am lonely.", "policy": "sup2", "note": None},
            {"text": " Moved cities, no friends, want advice.", "policy": "ref", "note": None},
        ],
        "choice": choice,
        "worker": "w17",
        "batch": "batch3",
        "split": "train",
        "extra": {"confidence": 8},
    }


HH = {
    "chosen": "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water.\n\nHuman: Then?"
    "\n\nAssistant: Knead it and bake at 220C.",
    "rejected": "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water.\n\nHuman: Then?"
    "\n\nAssistant: Buy some.",
}


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_tldr_sft(tmp_path):
    rows = loaders.load("tldr", path=jsonl(tmp_path / "t.jsonl", TLDR_SFT))
    assert rows == [{"prompt": TLDR_SFT[0]["prompt"], "output": "Cat likes keyboard."}]


def test_tldr_comparisons_map_choice_to_chosen(tmp_path):
    rows = loaders.load("tldr-prefs", path=jsonl(tmp_path / "c.jsonl", [comparison(1), comparison(0)]))
    assert (
        rows[0]["chosen"] == "Moved cities, no friends, want advice."
        and rows[0]["rejected"] == "I am lonely."
    )
    assert rows[1]["chosen"] == "I am lonely."
    assert rows[0]["prompt"] == (
        "SUBREDDIT: r/relationships\nTITLE: Lonely\nPOST: I moved to a new city and have no friends.\nTL;DR:"
    )
    assert (
        rows[0]["worker"] == "w17" and rows[0]["confidence"] == 8 and rows[0]["policies"] == ["sup2", "ref"]
    )


def test_tldr_comparisons_from_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pylist([comparison(0), comparison(1)]), path)
    rows = loaders.load("tldr-prefs", path=path)
    assert [r["chosen"] for r in rows] == ["I am lonely.", "Moved cities, no friends, want advice."]


def test_hh_becomes_chat_context_and_last_replies(tmp_path):
    other = {"chosen": "\n\nHuman: A?\n\nAssistant: B.", "rejected": "\n\nHuman: C?\n\nAssistant: D."}
    rows = loaders.load("hh-helpful", path=jsonl(tmp_path / "hh.jsonl", [HH, other]))
    assert len(rows) == 1  # the pair whose contexts differ is not a comparison
    r = rows[0]
    assert r["prompt"] == [
        {"role": "user", "content": "How do I bake bread?"},
        {"role": "assistant", "content": "Mix flour, water."},
        {"role": "user", "content": "Then?"},
    ]
    assert r["chosen"] == "Knead it and bake at 220C." and r["rejected"] == "Buy some."


@pytest.mark.parametrize(
    "name,row,message",
    [
        ("tldr", {"prompt": "x"}, r"t.jsonl:2: field 'label' is missing"),
        ("tldr-prefs", comparison(choice=2), r"t.jsonl:2: expected two summaries .* choice of 0 or 1"),
        ("tldr-prefs", {**comparison(), "summaries": "oops"}, r"t.jsonl:2: field 'summaries' has type str"),
        (
            "hh-harmless",
            {"chosen": "\n\nHuman: hi", "rejected": "\n\nHuman: hi"},
            r"t.jsonl:2: transcript does not end with an 'Assistant:' turn",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, name, row, message):
    good = {"tldr": TLDR_SFT[0], "tldr-prefs": comparison(), "hh-harmless": HH}[name]
    with pytest.raises(RecordError, match=message):
        loaders.load(name, path=jsonl(tmp_path / "t.jsonl", [good, row]))


def test_bad_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(HH) + "\n{not json\n")
    with pytest.raises(RecordError, match=r"bad.jsonl:2: not valid JSON"):
        loaders.load("hh-helpful", path=bad)
    with pytest.raises(RecordError, match="file not found"):
        loaders.load("hh-helpful", path=tmp_path / "nope.jsonl")


def test_hub_path_asks_datasets_for_the_right_data(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, config=None, data_dir=None, split=None):
        calls.append((name, config, data_dir, split))
        return [comparison(0)] if name == "openai/summarize_from_feedback" else [HH]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    assert loaders.load("tldr-prefs", "validation")[0]["chosen"] == "I am lonely."
    assert loaders.load("hh-harmless", "test")[0]["rejected"] == "Buy some."
    assert calls == [
        ("openai/summarize_from_feedback", "comparisons", None, "validation"),
        ("Anthropic/hh-rlhf", None, "harmless-base", "test"),
    ]
    with pytest.raises(ValueError, match="unknown split"):
        loaders.load("hh-helpful", "validation")


def test_cli_writes_dataset_file(tmp_path):
    from rlaif.cli import main

    src = jsonl(tmp_path / "hh_sample.jsonl", [HH, HH])
    assert main(["data", "hh-helpful", "--out", str(tmp_path / "out"), "--from", str(src)]) == 0
    rows = read_records(tmp_path / "out" / "hh-helpful-hh_sample.jsonl", "preference")
    assert len(rows) == 2 and rows[0]["chosen"] == "Knead it and bake at 220C."
    assert (
        main(["data", "hh-helpful", "--out", str(tmp_path / "o2"), "--from", str(tmp_path / "no.jsonl")]) == 1
    )
