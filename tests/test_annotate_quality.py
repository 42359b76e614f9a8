"""Agreement statistics against published worked examples, and the annotator flags."""

import dataclasses

import pytest

from rlaif.annotate.quality import (
    agreement_report,
    annotator_stats,
    blind_kappa,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    pairwise_agreement,
)
from rlaif.annotate.store import Settings

SETTINGS = dataclasses.asdict(Settings())


def test_cohen_kappa_wikipedia_example():
    # 50 items, two raters: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, κ 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)
    assert cohen_kappa([("a", "a")] * 5) is None  # chance agreement is total: undefined
    assert cohen_kappa([]) is None


def test_fleiss_kappa_wikipedia_example():
    # 10 subjects, 14 raters, 5 categories (Fleiss 1971 as worked on Wikipedia): κ = 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    assert fleiss_kappa(table) == pytest.approx(0.2099, abs=1e-4)
    with pytest.raises(ValueError):
        fleiss_kappa([[1, 1], [3, 0]])


def test_krippendorff_alpha_reference_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders, 12 units,
    # missing values; nominal α = 0.743, interval α = 0.849.
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[v for v in unit if v is not None] for unit in zip(*coders)]
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=5e-4)
    assert krippendorff_alpha(units, "interval") == pytest.approx(0.849, abs=5e-4)
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None
    assert krippendorff_alpha([["a", "b"], ["b", "a"]]) < 0  # systematic disagreement


def test_blind_kappa_avoids_the_kappa_paradox():
    # every pair has the better response in slot a: a careful annotator answers a every time
    careful = [("a", "a")] * 18 + [("a", "b")] * 2
    assert cohen_kappa(careful) == pytest.approx(0.0)  # the paradox: plain κ calls this chance
    assert blind_kappa(careful) == pytest.approx((0.9 - 0.5) / 0.5)  # not reading scores 50%
    # with ties: my tie rate 0.5, others' 0.25 -> chance = 0.25 * 0.75 + 0.5 * 0.25 = 0.3125
    pairs = [("tie", "tie"), ("tie", "a"), ("a", "a"), ("b", "a")]
    assert blind_kappa(pairs) == pytest.approx((0.5 - 0.3125) / (1 - 0.3125))
    assert blind_kappa([]) is None


def test_pairwise_agreement_counts_pairs():
    # 3 raters on one item (a, a, b): 1 of 3 pairs agree; second item 1 of 1
    assert pairwise_agreement([["a", "a", "b"], ["b", "b"]]) == pytest.approx(2 / 4)


def _lab(item, who, answer, shown=None, seconds=10.0, gold=None):
    return {
        "item": item,
        "annotator": who,
        "answer": answer,
        "shown": shown or answer,
        "seconds": seconds,
        "gold": gold,
    }


def test_flags_careless_annotators_but_not_careful_ones():
    labels = []
    for i in range(20):
        truth = "a" if i % 3 else "b"
        labels.append(_lab(i, 1, truth, shown=str(1 + i % 2)))  # careful
        labels.append(_lab(i, 2, truth, shown=str(1 + (i + 1) % 2)))  # careful
        labels.append(_lab(i, 3, "a" if i % 2 else "b", shown="1", seconds=0.8))  # clicks 1, fast
    for g in range(6):
        labels += [
            _lab(100 + g, 1, "a", gold="a"),
            _lab(100 + g, 2, "a", gold="a"),
            _lab(100 + g, 3, "b" if g % 2 else "a", shown="1", seconds=0.8, gold="a"),
        ]
    stats = annotator_stats("compare", labels, SETTINGS)
    assert stats[1]["flags"] == [] and stats[2]["flags"] == []
    assert stats[1]["gold_accuracy"] == 1.0 and stats[1]["kappa"] == pytest.approx(1.0)
    assert stats[1]["shared"] == 20  # measured against annotator 2 only: 3 failed the other checks
    flags = " | ".join(stats[3]["flags"])
    assert "gold accuracy 50%" in flags and "too fast" in flags and "same side 100%" in flags
    assert "κ=" in flags
    rep = agreement_report("compare", labels)
    assert rep["items_with_overlap"] == 20  # gold items are not part of agreement
    assert 0 < rep["pairwise_agreement"] < 1


def test_flags_need_evidence():
    labels = [_lab(i, 1, "a", shown="1", seconds=0.5, gold="b") for i in range(3)]
    assert annotator_stats("compare", labels, SETTINGS)[1]["flags"] == []


def test_rating_agreement_is_interval():
    labels = [
        _lab(i, w, str(s))
        for i, scores in enumerate([(7, 8), (2, 3), (9, 9), (4, 5)])
        for w, s in enumerate(scores)
    ]
    rep = agreement_report("rate", labels)
    assert rep["krippendorff_alpha"] > 0.9  # off by one point on a 1-10 scale: near agreement
    assert rep["pairwise_agreement"] == 1.0  # within one point counts as agreeing
