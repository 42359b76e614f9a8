"""The labeler: position debiasing, inversion, prompts, the hf backend's exactness, d-RLAIF, SALMON,
the stage (slots, resume, cache, report) and the CLI."""

import json
import math

import pytest
from conftest import write_jsonl

from rlaif.core.config import load_config
from rlaif.labelers import Pair, score_pairs
from rlaif.labelers.judges import FakeJudge, LMJudge, OracleJudge
from rlaif.labelers.prompts import load_template
from rlaif.labelers.scoring import NEG_INF, alignment


def gold_pairs(n=200):
    """Pairs whose gold answer is a for even i and b for odd i."""
    return [
        Pair(
            f"q{i}",
            f"good {i}" if i % 2 == 0 else f"bad {i}",
            f"bad {i}" if i % 2 == 0 else f"good {i}",
            gold=1.0 if i % 2 == 0 else 0.0,
        )
        for i in range(n)
    ]


# --------------------------------------------------------------------------- debiasing


def test_planted_position_bias_is_removed_by_both_orders_and_not_by_one():
    pairs = gold_pairs()
    judge = FakeJudge(accuracy=0.8, confidence=0.7, position_bias=3.0)  # slot 1 almost always wins
    both = score_pairs(judge, pairs, "both")
    one = score_pairs(judge, pairs, "ab")
    gold = [p.gold for p in pairs]
    a_both = alignment([r["score"] for r in both], gold)
    a_one = alignment([r["score"] for r in one], gold)
    assert a_both == pytest.approx(0.8, abs=0.07)  # the fake's accuracy, bias cancelled
    assert a_one == pytest.approx(0.5, abs=0.02)  # slot 1 wins: half the gold answers are there
    assert sum(r["same_position"] for r in both) == len(pairs)
    unbiased = score_pairs(FakeJudge(accuracy=0.8, confidence=0.7), pairs, "both")
    assert not any(r["same_position"] for r in unbiased)


def test_swapping_a_and_b_gives_one_minus_p_a():
    judge = FakeJudge(accuracy=0.7, confidence=0.8, position_bias=1.3)
    pairs = gold_pairs(40)
    swapped = [Pair(p.prompt, p.b, p.a, gold=1 - p.gold) for p in pairs]
    for r, s in zip(score_pairs(judge, pairs), score_pairs(judge, swapped)):
        assert r["score"] == pytest.approx(1 - s["score"])
        assert r["ab"] == pytest.approx(s["ba"])


def test_one_order_mode_picks_the_order_from_content_and_maps_back():
    seen = []

    def judge(shown):
        seen.extend(s.swapped for s in shown)
        return [OracleJudge()([s])[0] for s in shown]

    res = score_pairs(judge, gold_pairs(100), "one")
    assert 30 < sum(seen) < 70  # both slots used, reproducibly
    assert [r["score"] for r in res] == [p.gold for p in gold_pairs(100)]
    assert seen == [s for s in seen]  # deterministic order per content
    again = []
    score_pairs(
        lambda sh: (again.extend(s.swapped for s in sh), [OracleJudge()([s])[0] for s in sh])[1],
        gold_pairs(100),
        "one",
    )
    assert again == seen


# --------------------------------------------------------------------------- LM judge with a stub backend


class StubBackend:
    """Prefers the slot whose response contains GOOD: P(that slot's digit) = 0.6, the other 0.2."""

    stats = {}

    def next_logprobs(self, prompts, conts, targets):
        out = []
        for (user, ending), _ in zip(prompts, conts):
            first_good = "1 - GOOD" in user or "(a) - GOOD" in user
            p = (
                {"1": 0.6, "2": 0.2, "a": 0.6, "b": 0.2}
                if first_good
                else {"1": 0.2, "2": 0.6, "a": 0.2, "b": 0.6}
            )
            out.append({t: math.log(p[t]) if t in p else NEG_INF for t in targets})
        return out

    def generate(self, prompts, max_tokens, temperature=0.0, n=1, seed=0):
        return [[f"rationale {j}" for j in range(n)] for _ in prompts]


def test_lm_judge_reads_the_choice_tokens_and_harmless_is_inverted():
    pair = Pair("ctx", "GOOD answer", "meh")
    helpful = LMJudge(load_template("", "helpful", "base"), StubBackend())
    [r] = score_pairs(helpful, [pair])
    assert r["ab"] == pytest.approx(0.75) and r["ba"] == pytest.approx(0.25)
    assert r["score"] == pytest.approx(0.75) and r["same_position"] is False
    # harmless asks for the MORE harmful response: the same token probabilities mean a is worse
    harmless = LMJudge(load_template("", "harmless", "base"), StubBackend())
    [h] = score_pairs(harmless, [pair])
    assert load_template("", "harmless").invert
    assert h["score"] == pytest.approx(0.25)


def test_cot_and_self_consistency_average_over_rationales():
    t = load_template("", "summarize", "detailed")
    judge = LMJudge(t, StubBackend(), cot=True, self_consistency=3, sc_temperature=0.7)
    [r] = score_pairs(judge, [Pair("text", "meh", "GOOD")])
    assert r["score"] == pytest.approx(0.25)
    assert r["rationales"] == ["rationale 0", "rationale 1", "rationale 2"] * 2


def test_degenerate_output_is_counted_not_labeled():
    class Silent(StubBackend):
        def next_logprobs(self, prompts, conts, targets):
            return [{t: math.log(1e-7) for t in targets} for _ in prompts]

    judge = LMJudge(load_template("", "summarize"), Silent(), min_choice_mass=1e-4)
    [r] = score_pairs(judge, [Pair("x", "a", "b")])
    assert r["score"] is None and "degenerate" in r["problem"]
    assert judge.counts["degenerate"] == 2


def test_templates_follow_the_paper_and_keep_braces():
    t = load_template("", "summarize", "base")
    text = t.user("Post {with braces}", "S1 {x}", "S2")
    assert "Text - Post {with braces}\nSummary 1 - S1 {x}\nSummary 2 - S2" in text
    assert t.ending == "Preferred Summary="
    assert t.ending_for("it is better.").startswith(
        "Consider the coherence, accuracy, coverage, and overall "
        "quality of each summary and explain which one is better."
    )
    assert t.ending_for("it is better.").endswith("Rationale: it is better.\n\nPreferred Summary=")
    assert "Response 1 -" in load_template("", "helpful").sample
    sql = load_template("", "text2sql", "detailed")
    assert "Result 1 - 3 rows" in sql.user("q", "SELECT 1", "SELECT 2", ("3 rows", "error"))


def test_exemplars_come_before_the_sample(tmp_path):
    ex = write_jsonl(
        tmp_path / "ex.jsonl",
        [{"prompt": "P0", "response_1": "x", "response_2": "y", "preferred": 2, "rationale": "y is right."}],
    )
    t = load_template("", "summarize", "base", str(ex), 1)
    text = t.user("P1", "a", "b")
    assert text.index("Text - P0") < text.index("Preferred Summary=2") < text.index("Text - P1")


def test_sql_exemplars_show_their_execution_results_when_the_sample_does(tmp_path):
    ex = write_jsonl(
        tmp_path / "ex.jsonl",
        [
            {
                "prompt": "Q0",
                "response_1": "SELECT 1",
                "response_2": "SELECT x",
                "preferred": 1,
                "result_1": "1 row: (1)",
                "result_2": "error: no such column: x",
            }
        ],
    )
    t = load_template("", "text2sql", "base", str(ex), 1)
    with_results = t.user("Q1", "SELECT a", "SELECT b", ("2 rows", "0 rows"))
    assert with_results.index("Result 2 - error: no such column: x") < with_results.index("Question - Q1")
    assert "no such column" not in t.user("Q1", "SELECT a", "SELECT b")  # like the sample: no results


# --------------------------------------------------------------------------- hf backend on a tiny model


@pytest.fixture(scope="module")
def hf(tiny_model):
    from rlaif.labelers.backends.hf import HFBackend

    return HFBackend(tiny_model, dtype="fp32", batch_size=6)


def test_shared_prefix_kv_cache_is_exact(hf):
    from rlaif.labelers.backends.hf import HFBackend

    plain = HFBackend("unused", model=hf.model, tokenizer=hf.tok, share_prefix=False)
    pre = "The quick brown fox jumps over the lazy dog. " * 4
    prompts = [
        (pre + f"Text - shared text {k} " + s, "Preferred Summary=")
        for k in range(2)
        for s in ("Summary 1 - yes no", "Summary 1 - SELECT name FROM x")
    ]
    prompts.append(("something else entirely", "="))
    rows = [hf.encode(p) for p in prompts]
    before = hf.stats["forward_tokens"]
    shared = hf.last_logprobs(rows)
    import torch

    ref = torch.stack([plain.last_logprobs([r])[0] for r in rows])
    assert torch.allclose(shared, ref, atol=1e-4)
    assert hf.stats["forward_tokens"] - before < sum(len(r) for r in rows)  # something was shared
    # a second batch reuses the cached preamble
    assert torch.allclose(hf.last_logprobs(rows[:2]), ref[:2], atol=1e-4)


def test_schema_prefix_is_encoded_once_per_database_across_batches(hf):
    """Level 3 of the labeler's prefix cache: batches on one database reuse its schema's KV (cut from
    a stored prefix that went further), batches on another pay only for their own schema, and every
    log-prob matches a plain forward pass."""
    import torch

    from rlaif.labelers.backends.hf import HFBackend

    plain = HFBackend("unused", model=hf.model, tokenizer=hf.tok, share_prefix=False)
    b = HFBackend("unused", model=hf.model, tokenizer=hf.tok, batch_size=4)
    pre = "You are an expert SQL reviewer. Output 1 or 2. Question - "
    schema = {
        db: " ".join(f"CREATE TABLE {db}_{t} (id INT, name TEXT, {db}_ref INT);" for t in "abc")
        for db in ("shop", "zoo")
    }

    def batch(db, qs):
        return [
            b.encode((pre + schema[db] + f" Q: {q}? Query 1 - SELECT {x} Query 2 - SELECT {y}", "Preferred="))
            for q in qs
            for x, y in (("a", "b"), ("b", "a"))
        ]

    batches = [
        batch("shop", ["how many items", "list all names"]),
        batch("shop", ["count the rows", "which name is first"]),
        batch("zoo", ["how many animals", "oldest keeper"]),
        batch("shop", ["the largest id", "names sorted"]),
        batch("shop", ["any name"]) + batch("zoo", ["any animal"]),  # shares less than any stored prefix
    ]
    cost = []
    for rows in batches:
        before = b.stats["forward_tokens"]
        got = b.last_logprobs(rows)
        cost.append(b.stats["forward_tokens"] - before)
        ref = torch.stack([plain.last_logprobs([r])[0] for r in rows])
        assert torch.allclose(got, ref, atol=1e-4), float((got - ref).abs().max())
    schema_tokens = len(hf.tok(schema["shop"])["input_ids"])
    # the first batch pays for preamble + schema; later shop batches do not, the zoo batch pays its schema
    assert cost[1] < cost[0] - schema_tokens // 2
    assert cost[3] < cost[0] - schema_tokens // 2
    assert cost[2] > cost[1] + schema_tokens // 2
    # the mixed batch reuses a stored schema prefix cut back to the preamble: cheaper than from cold
    cold = HFBackend("unused", model=hf.model, tokenizer=hf.tok, batch_size=4)
    cold.last_logprobs(batches[4])
    assert cost[4] <= cold.stats["forward_tokens"] - len(hf.tok(pre)["input_ids"]) + 2
    b.reuse_cut = False  # whole prefixes only: every batch whose prefix differs pays its schema again
    b.clear_prefixes()
    whole = []
    for rows in batches:
        before = b.stats["forward_tokens"]
        b.last_logprobs(rows)
        whole.append(b.stats["forward_tokens"] - before)
    assert sum(cost) < sum(whole)


def _tiny_arch(arch: str, tok, **extra):
    """A randomly initialised 2-layer model of another architecture on the tiny tokenizer."""
    import torch
    import transformers

    torch.manual_seed(0)
    cfg = getattr(transformers, f"{arch}Config")(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=256,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        **extra,
    )
    return getattr(transformers, f"{arch}ForCausalLM")(cfg).eval()


@pytest.mark.parametrize(
    "arch,extra", [("Gemma2", {"final_logit_softcapping": 0.5}), ("Granite", {"logits_scaling": 0.1})]
)
def test_labeler_head_applies_the_models_final_logit_processing(hf, arch, extra):
    import torch

    from rlaif.labelers.backends.hf import HFBackend

    model = _tiny_arch(arch, hf.tok, **extra)
    b = HFBackend("unused", model=model, tokenizer=hf.tok, share_prefix=False)
    rows = [
        hf.encode(("The quick brown fox. Summary 1 - yes", "Preferred Summary=")),
        hf.encode(("the cat", "=")),
    ]
    with torch.no_grad():
        own = [model(input_ids=torch.tensor([r])).logits[0, -1].float().log_softmax(-1) for r in rows]
    got = b.last_logprobs(rows)
    assert torch.allclose(got, torch.stack(own), atol=1e-4), float((got - torch.stack(own)).abs().max())


def test_labeler_refuses_a_model_whose_logits_it_cannot_reproduce(hf):
    from rlaif.labelers.backends.hf import HFBackend

    model = _tiny_arch("Llama", hf.tok)
    model.register_forward_hook(lambda mod, args, out: out.__setitem__("logits", out["logits"] * 3) or out)
    with pytest.raises(ValueError, match="final-logit processing"):
        HFBackend("unused", model=model, tokenizer=hf.tok)


def test_choice_tokens_with_and_without_leading_space_are_summed(hf):
    import torch

    ids = hf.token_group("1")
    texts = {hf.tok.decode([i]) for i in ids}
    assert "1" in texts and " 1" in texts  # both spellings of the answer count
    p = ("Which summary is better? Summary 1 or Summary 2.", "Preferred Summary=")
    [d] = hf.next_logprobs([p], [""], ["1"])
    lp = hf.last_logprobs([hf.encode(p)])[0]
    assert d["1"] == pytest.approx(float(torch.logsumexp(lp[ids], 0)), abs=1e-5)


def test_multi_token_choice_matches_a_teacher_forced_forward(hf):
    """'12' is not one token in the tiny tokenizer: P('12') = P('1') * P('2' | '1'), the continuation
    conditioned on the plain spelling of '1' (documented approximation for ' 1')."""
    import torch

    from rlaif.labelers.scoring import choice_logprobs

    assert not hf.token_group("12")
    p = ("Rate the response from 1 to 10.", "Score: ")
    [[l1, l12]] = choice_logprobs(hf.next_logprobs, [p], ["1", "12"])
    base = hf.encode(p)
    one = hf.last_logprobs([base])[0]
    p_first = float(torch.exp(one[hf.token_group("1")]).sum())
    plain_one = hf.tok("1", add_special_tokens=False)["input_ids"]
    nxt = hf.last_logprobs([base + plain_one])[0]
    p_two = p_first * float(torch.exp(nxt[hf.token_group("2")]).sum())
    assert math.exp(l12) == pytest.approx(p_two, rel=1e-3)
    assert math.exp(l1) == pytest.approx(p_first - p_two, rel=1e-3)


def test_chat_template_puts_the_ending_at_the_start_of_the_assistant_turn(hf):
    text = hf.text(("USER TEXT", "Preferred Summary="))
    assert text.endswith("<|im_start|>assistant\nPreferred Summary=")


def test_hf_judge_is_order_consistent(hf):
    judge = LMJudge(load_template("", "summarize", "base"), hf)
    pairs = [Pair("The cat sat on the mat.", "A cat sat.", "The dog ran."), Pair("x", "yes", "no")]
    swapped = [Pair(p.prompt, p.b, p.a) for p in pairs]
    for r, s in zip(score_pairs(judge, pairs), score_pairs(judge, swapped)):
        assert r["score"] == pytest.approx(1 - s["score"], abs=1e-5)
        assert 0 < r["ab"] < 1 and r["mass"] > 0


# --------------------------------------------------------------------------- d-RLAIF and SALMON


def test_direct_reward_is_the_rescaled_expected_score():
    from rlaif.labelers.direct import DirectScorer
    from rlaif.labelers.prompts import load_direct_template

    probs = {"7": 0.3, "9": 0.1, "x": 0.6}

    class B:
        def next_logprobs(self, prompts, conts, targets):
            return [{t: math.log(probs[t]) if t in probs else NEG_INF for t in targets} for _ in prompts]

    s = DirectScorer(load_direct_template("", "summarize"), B())
    [r] = s.rewards(["p"], ["r"])
    assert r == pytest.approx(((0.75 * 7 + 0.25 * 9) - 5.5) / 4.5)


def test_direct_reward_fn_on_a_tiny_model(tiny_model):
    from rlaif.labelers import direct_reward_fn

    cfg = load_config(overrides={"task": "summarize", "label": {"model": tiny_model, "dtype": "fp32"}})
    fn = direct_reward_fn(cfg)
    r = fn(["Summarize: the cat sat.", [{"role": "user", "content": "hi"}]], ["A cat sat.", "hello"])
    assert len(r) == 2 and all(-1 <= x <= 1 for x in r) and r[0] != r[1]
    # the reward registry passes label overrides as keywords
    again = direct_reward_fn(load_config(overrides={"task": "summarize"}), model=tiny_model, dtype="fp32")
    assert again(["Summarize: the cat sat."], ["A cat sat."]) == pytest.approx(r[:1])


def test_principle_scores_both_orders():
    from rlaif.labelers.principles import PrincipleScorer
    from rlaif.labelers.prompts import Principle, load_principle_template

    ps = PrincipleScorer(
        load_principle_template(), StubBackend(), [Principle("Concise", "short"), Principle("Honest", "true")]
    )
    [row] = ps.score([Pair("q", "GOOD", "bad")])
    s_ab, s_ba = row["Concise"]
    assert s_ab == pytest.approx(math.log(3)) and s_ba == pytest.approx(-math.log(3))
    assert set(row) == {"Concise", "Honest"}


# --------------------------------------------------------------------------- the stage


def _prefs(path, n=30):
    return write_jsonl(
        path,
        [
            {"prompt": f"q{i}", "chosen": f"right answer {i}", "rejected": f"wrong {i}", "id": i}
            for i in range(n)
        ],
    )


def _cfg(tmp_path, src, *extra):
    return load_config(
        overrides=[
            f"out={tmp_path}/run",
            f"label.input={src}",
            "task=summarize",
            "label.progress=false",
            *extra,
        ]
    )


def test_preferences_are_not_all_put_in_slot_a_and_labels_follow_content(tmp_path):
    from rlaif.stages import run_stage

    src = _prefs(tmp_path / "p.jsonl", 40)
    out = run_stage("label", _cfg(tmp_path, src, "label.backend=oracle"))
    rows = [json.loads(l) for l in (out / "comparisons.jsonl").read_text().splitlines()]
    chosen_in_a = [r["response_a"].startswith("right") for r in rows]
    assert 10 < sum(chosen_in_a) < 30
    assert all((r["p_a"] == 1.0) == a for r, a in zip(rows, chosen_in_a))
    assert [r["id"] for r in rows] == list(range(40))  # input order, extras passed through


def test_report_shows_the_planted_bias(tmp_path):
    from rlaif.stages import run_stage

    src = _prefs(tmp_path / "p.jsonl", 60)
    out = run_stage(
        "label",
        _cfg(tmp_path, src, "label.backend=fake", "label.fake.position_bias=4", "label.fake.accuracy=1.0"),
    )
    rep = json.loads((out / "report.json").read_text())
    assert rep["alignment"] == 1.0 and rep["same_position"] == 1.0
    assert rep["alignment_one_order"] < 0.8
    md = (out / "report.md").read_text()
    assert "% same position preferred | 100.0%" in md and "same slot" in md


def test_ties_short_circuit_and_degenerate_pairs_are_reported(tmp_path):
    from rlaif.stages import run_stage

    src = write_jsonl(
        tmp_path / "s.jsonl",
        [{"prompt": "p", "completions": ["same", "same"]}, {"prompt": "q", "completions": ["x", "y"]}],
    )
    out = run_stage("label", _cfg(tmp_path, src, "label.backend=oracle", "label.gold=none"))
    rows = [json.loads(l) for l in (out / "comparisons.jsonl").read_text().splitlines()]
    assert rows == [rows[0]] and rows[0]["tie"] and rows[0]["p_a"] == 0.5
    un = [json.loads(l) for l in (out / "unlabeled.jsonl").read_text().splitlines()]
    assert un[0]["prompt"] == "q" and "no oracle" in un[0]["problem"]
    assert json.loads((out / "report.json").read_text())["unlabeled"] == 1


def test_resume_after_kill_gives_the_same_file(tmp_path, tiny_model, monkeypatch):
    from rlaif.labelers import pairs as stage
    from rlaif.stages import run_stage

    src = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"prompt": f"Text {i} " + "word " * (i % 5), "completions": [f"summary {i}", f"other {i * 7}"]}
            for i in range(10)
        ],
    )
    args = [f"label.model={tiny_model}", "label.dtype=fp32", "label.batch_size=4", "label.cache=off"]
    ref = run_stage("label", _cfg(tmp_path / "a", src, *args))
    expected = (ref / "comparisons.jsonl").read_text()

    real, calls = stage._pair, {"n": 0}

    def dying(r):
        calls["n"] += 1
        if calls["n"] > 5:  # two chunks of 2 pairs done, killed in the third
            raise KeyboardInterrupt
        return real(r)

    monkeypatch.setattr(stage, "_pair", dying)
    with pytest.raises(KeyboardInterrupt):
        run_stage("label", _cfg(tmp_path / "b", src, *args))
    partial = tmp_path / "b" / "run" / "label" / "comparisons.partial.jsonl"
    assert len(partial.read_text().splitlines()) == 4
    monkeypatch.setattr(stage, "_pair", real)
    out = run_stage("label", _cfg(tmp_path / "b", src, *args))
    assert (out / "comparisons.jsonl").read_text() == expected


def test_cache_reuses_labels_across_runs(tmp_path, tiny_model):
    from rlaif.labelers import build_labeler

    cfg = load_config(
        overrides={
            "task": "summarize",
            "label": {"model": tiny_model, "dtype": "fp32", "cache": str(tmp_path / "cache")},
        }
    )
    pairs = [Pair("p", "a a", "b"), Pair("q", "c", "d d")]
    first = build_labeler(cfg).label(pairs)
    lab = build_labeler(cfg)
    lab.judge = lambda shown: pytest.fail("cached pairs must not be judged again")
    second = lab.label(pairs)
    assert [s["p_a"] for s in second] == [f["p_a"] for f in first] and all(s["cached"] for s in second)
    other = load_config(
        overrides={
            "task": "summarize",
            "label": {
                "model": tiny_model,
                "dtype": "fp32",
                "preamble": "base",
                "cache": str(tmp_path / "cache"),
            },
        }
    )
    assert build_labeler(other).fingerprint != lab.fingerprint


def test_principles_mode_writes_per_principle_scores(tmp_path, tiny_model):
    from rlaif.stages import run_stage

    src = write_jsonl(tmp_path / "s.jsonl", [{"prompt": "q", "completions": ["x y", "z"]}])
    out = run_stage(
        "label",
        _cfg(
            tmp_path,
            src,
            "label.mode=principles",
            f"label.model={tiny_model}",
            "label.dtype=fp32",
            "label.cache=off",
        ),
    )
    [row] = [json.loads(l) for l in (out / "principles.jsonl").read_text().splitlines()]
    assert {"prompt", "response_a", "response_b", "principle_scores"} <= set(row)
    assert all(len(v) == 2 for v in row["principle_scores"].values())


def test_cli_label_runs_and_documents_its_options(tmp_path, capsys):
    from rlaif.cli import main

    assert main(["label", "--help"]) == 0
    assert "label.orders" in capsys.readouterr().out
    src = _prefs(tmp_path / "p.jsonl", 8)
    assert (
        main(
            [
                "label",
                f"--out={tmp_path}/run",
                f"--label.input={src}",
                "--label.backend=fake",
                "--task=summarize",
                "--label.progress=false",
            ]
        )
        == 0
    )
    assert (tmp_path / "run" / "label" / "report.md").exists()


def test_all_pairs_of_distinct_samples(tmp_path):
    """label.pairs=all: every pair of distinct completions (n=4: up to 6), a repeated completion
    compared once, a prompt whose samples are all the same left out; `first` keeps the paper's pair."""
    from rlaif.labelers.pairs import sample_pairs
    from rlaif.stages import run_stage

    assert sample_pairs(["a", "b", "a ", "c"], "all") == [(0, 1), (0, 3), (1, 3)]
    assert sample_pairs(["a", "a"], "all") == [] and sample_pairs(["a", "a"], "first") == [(0, 1)]
    src = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"prompt": "p", "completions": ["w", "x", "y", "z"], "id": 0},
            {"prompt": "q", "completions": ["same", "same", "same", "same"], "id": 1},
            {"prompt": "r", "completions": ["u", "v", "u", "u"], "id": 2},
        ],
    )
    out = run_stage("label", _cfg(tmp_path, src, "label.backend=fake", "label.gold=none", "label.pairs=all"))
    rows = [json.loads(l) for l in (out / "comparisons.jsonl").read_text().splitlines()]
    got = [(r["id"], {r["response_a"], r["response_b"]}) for r in rows]
    want = [(0, {a, b}) for a, b in ("wx", "wy", "wz", "xy", "xz", "yz")] + [(2, {"u", "v"})]
    assert sorted(got, key=str) == sorted(want, key=str)
    assert sorted(tuple(r["sample_pair"]) for r in rows if r["id"] == 2) == [(0, 1)]


def test_chunks_keep_pairs_on_one_schema_together(tmp_path):
    """Pairs whose prompts share a long prefix (a database schema) fill a chunk together, so the hf
    backend encodes that prefix once per chunk; every pair is in exactly one chunk."""
    from rlaif.labelers.pairs import _chunks

    schema = {d: f"Database {d}: " + f"CREATE TABLE {d}_t (x INTEGER, y TEXT); " * 4 for d in "ab"}
    rows = [
        {
            "prompt": schema["ab"[i % 2]] + f"question {i}?" + "!" * (i % 5),
            "response_a": "x",
            "response_b": "y",
        }
        for i in range(16)
    ]
    cfg = load_config(overrides=[f"out={tmp_path}", "label.batch_size=8"])  # 4 pairs a chunk
    chunks = _chunks(rows, cfg)
    assert sorted(i for c in chunks for i in c) == list(range(16)) and all(len(c) == 4 for c in chunks)
    assert all(len({i % 2 for i in c}) == 1 for c in chunks)  # one database per chunk


def test_a_label_run_reports_its_own_tokens_not_the_shared_backends_running_total():
    """An hf backend is loaded once per process and shared by every label run in it (the demo's arms,
    benchmarks/labeler_variants.py): each run's report counts from when it started."""
    from types import SimpleNamespace

    from rlaif.core.config import load_config
    from rlaif.labelers.pairs import backend_counters, label_stats

    backend = SimpleNamespace(stats={"prompt_tokens": 1000, "forward_tokens": 400, "generated_tokens": 0})
    before = backend_counters(backend)
    backend.stats = {"prompt_tokens": 1600, "forward_tokens": 700, "generated_tokens": 0}
    labs = [{"p_a": 0.6}, {"p_a": 0.3}, {"p_a": 0.5, "tie": True}]
    st = label_stats(load_config(), backend, labs, 2.0, before)
    assert st["tokens_per_pair"] == 300.0 and st["backend_stats"]["forward_tokens"] == 300
    assert st["pairs_per_s"] == 1.0
    assert label_stats(load_config(), backend, labs, 2.0)["tokens_per_pair"] == 800.0  # no snapshot: all
    # an openai backend's counters hold per-server dicts and strings: differences where they are numbers
    backend.stats = {"prompt_tokens": 10, "per_server": {"a": 3, "b": 2}, "model": "smol"}
    before = backend_counters(backend)
    backend.stats = {"prompt_tokens": 16, "per_server": {"a": 5, "b": 2, "c": 1}, "model": "smol"}
    st = label_stats(load_config(), backend, labs, 2.0, before)["backend_stats"]
    assert st == {"prompt_tokens": 6, "per_server": {"a": 2, "b": 0, "c": 1}, "model": "smol"}
