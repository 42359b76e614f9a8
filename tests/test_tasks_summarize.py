"""Task summarize: ROUGE against hand-computed values, document sources, splits, oracle."""

import pytest

from rlaif.core.records import validate
from rlaif.tasks import get_task
from rlaif.tasks.summarize import rouge, rouge_l, rouge_n, split_sentences, tokens
from rlaif.tasks.text2sql.questions import SPLITS


def test_rouge_hand_computed():
    p, r = tokens("The cat sat on the mat"), tokens("the cat lay on the mat")
    # unigrams: overlap the x2, cat, on, mat = 5 of 6 each side -> F1 5/6
    assert rouge_n(p, r, 1) == pytest.approx(5 / 6)
    # bigrams: (the cat), (on the), (the mat) shared = 3 of 5
    assert rouge_n(p, r, 2) == pytest.approx(3 / 5)
    # LCS: the cat on the mat = 5
    assert rouge_l(p, r) == pytest.approx(5 / 6)
    assert rouge_l(tokens("a b c d"), tokens("d c b a")) == pytest.approx(1 / 4)
    assert rouge("", "anything")["rouge"] == 0.0
    s = rouge("x y", "x y")
    assert s == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rouge": 1.0}


def test_sentence_splitting_keeps_abbreviations():
    text = 'Mr. Howard said on Jan. 3 that the U.S. plan failed. "It is over," he said! Then he left.'
    assert split_sentences(text) == [
        "Mr. Howard said on Jan. 3 that the U.S. plan failed.",
        '"It is over," he said!',
        "Then he left.",
    ]


@pytest.fixture(scope="module")
def docs_task():
    return get_task("summarize:source=docstrings")


def test_docstring_source_splits_and_records(docs_task):
    ids = {s: {r["id"] for r in docs_task.records(s)} for s in SPLITS}
    assert all(len(v) >= 20 for v in ids.values())
    assert sum(len(v) for v in ids.values()) == len(docs_task.docs)
    assert not any(ids[a] & ids[b] for a in SPLITS for b in SPLITS if a < b)
    r = docs_task.records("sft")[0]
    validate(r, "sft", "sft")
    assert r["output"] == r["reference"] and r["prompt"] == f"{r['text']}\n\nTL;DR:"
    assert r["reference"] not in r["text"]


def test_oracle_reward_and_prefer(docs_task):
    r = docs_task.records("test")[0]
    good, bad = r["reference"], "Completely unrelated words about penguins."
    assert docs_task.reward([r["prompt"], r["prompt"]], [good, bad]) == [
        1.0,
        pytest.approx(rouge(bad, r["reference"])["rouge"]),
    ]
    assert docs_task.reward(["not a task prompt"], [good], reference=[good]) == [1.0]
    assert docs_task.prefer(r["prompt"], good, bad) == 1.0
    assert docs_task.prefer(r["prompt"], bad, good, **r) == 0.0
    assert docs_task.prefer(r["prompt"], good, good) is None
    rep = docs_task.evaluate([r, r], [good, bad])
    assert rep["n"] == 2 and rep["rouge1"] == pytest.approx((1 + rouge(bad, good)["rouge1"]) / 2)


def test_instruct_format():
    t = get_task("summarize:source=docstrings,format=instruct")
    p = t.records("rl")[0]["prompt"]
    assert p.startswith("Summarize the following text in one sentence.\n\nText - ") and p.endswith(
        "Summary -"
    )
    with pytest.raises(ValueError):
        get_task("summarize:source=nowhere")


def test_news_source_lead_is_the_reference():
    t = get_task("summarize")
    assert len(t.docs) >= 300
    counts = {s: len(t.records(s)) for s in SPLITS}
    assert counts["sft"] >= 150 and min(counts.values()) >= 45
    for d in t.docs[:50]:
        assert d["reference"] not in d["text"] and len(d["reference"].split()) >= 8
        assert 50 <= len(d["text"].split()) <= 320
