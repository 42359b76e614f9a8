import torch

from rlaif.core.config import load_config
from rlaif.core.records import read_records
from rlaif.sft import collate, output_loss, tokenize_example
from rlaif.stages import run_stage


def test_tokenize_masks_prompt_and_keeps_output_when_truncating(tiny_model):
    from rlaif.core.models import load_tokenizer

    tok = load_tokenizer(tiny_model)
    ids, labels = tokenize_example(tok, "the cat sat on the mat " * 20, "a fish", max_length=16)
    assert len(ids) == len(labels) == 16
    out = tok("a fish", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert ids[-len(out) :] == out and labels[-len(out) :] == out
    assert all(x == -100 for x in labels[: -len(out)])


def test_output_loss_ignores_prompt_tokens(tiny_model):
    from transformers import AutoModelForCausalLM

    from rlaif.core.models import load_tokenizer

    tok = load_tokenizer(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    a = tokenize_example(tok, "the cat", "sat", 64)
    b = tokenize_example(tok, "the dog jumps over", "sat", 64)
    ids, mask, labels = collate([a], tok.pad_token_id)
    la = output_loss(model, ids, mask, labels)
    # the loss is a mean over output tokens only: a manual computation agrees
    logits = model(input_ids=ids).logits[0, :-1].float()
    tgt = labels[0, 1:]
    keep = tgt != -100
    manual = torch.nn.functional.cross_entropy(logits[keep], tgt[keep])
    assert torch.allclose(la, manual, atol=1e-5)
    ids2, mask2, labels2 = collate([a, b], tok.pad_token_id)  # padding does not leak into the loss
    assert (labels2[0, len(a[0]) :] == -100).all() and mask2[0].sum() == len(a[0])


def test_sft_lowers_loss_and_changes_every_parameter(tiny_model, sft_file, tmp_path):
    from transformers import AutoModelForCausalLM

    cfg = load_config(
        None,
        [
            f"out={tmp_path}",
            f"model.name={tiny_model}",
            f"sft.data={sft_file}",
            "sft.epochs=8",
            "sft.batch_size=4",
            "sft.lr=3e-3",
            "sft.log_every=1",
        ],
    )
    out = run_stage("sft", cfg)
    before = AutoModelForCausalLM.from_pretrained(tiny_model).state_dict()
    after = AutoModelForCausalLM.from_pretrained(out / "checkpoint").state_dict()
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert not unchanged, unchanged
    import json

    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["inputs"]["data"]["sha256"]
    assert m["results"]["last_loss"] < 0.6 * m["results"]["first_loss"]
    assert (out / "metrics.jsonl").read_text().count("loss/sft") == m["results"]["steps"]
    # a second call is a no-op: the stage is complete for this config
    assert run_stage("sft", cfg) == out


def test_sft_lora_saves_adapters_that_load(tiny_model, sft_file, tmp_path):
    cfg = load_config(
        None,
        [
            f"out={tmp_path}",
            f"model.name={tiny_model}",
            f"sft.data={sft_file}",
            "sft.max_steps=3",
            "model.lora.enabled=true",
            "model.lora.r=4",
        ],
    )
    out = run_stage("sft", cfg)
    assert (out / "checkpoint" / "adapter_config.json").exists()
    from rlaif.core.models import load_causal_lm

    model = load_causal_lm(cfg.model, str(out / "checkpoint"))
    assert not any("lora" in n for n, _ in model.named_parameters())  # merged for inference
    assert read_records(sft_file, "sft")


def test_packed_loss_and_gradients_equal_padded_rows(tiny_model):
    """Prefix sharing (sft.share_prefix) changes the compute, not the loss: prompts with a common
    schema-like prefix, one without, one truncated to nothing; sum and gradients agree in fp32."""
    from transformers import AutoModelForCausalLM

    from rlaif.core.models import load_tokenizer
    from rlaif.sft import packed_output_loss

    tok = load_tokenizer(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.float32)
    schema = "Table singer has columns id, name, country, age. Table concert has columns id, singer_id. " * 2
    exs = [
        tokenize_example(tok, schema + q, o, 256)
        for q, o in [
            ("How many singers?", "SELECT count(*) FROM singer"),
            ("Oldest singer?", "SELECT name FROM singer"),
            ("Countries?", "SELECT DISTINCT country FROM singer"),
        ]
    ]
    exs += [
        tokenize_example(tok, "unrelated short prompt", "yes", 256),
        tokenize_example(tok, "cut", "x " * 20, 8),
    ]
    grads = []
    for packed in (False, True):
        model.zero_grad()
        if packed:
            total, n = packed_output_loss(model, exs, tok.pad_token_id, "cpu")
        else:
            ids, mask, labels = collate(exs, tok.pad_token_id)
            total, n = output_loss(model, ids, mask, labels, "sum"), int((labels[:, 1:] != -100).sum())
        total.backward()
        grads.append((float(total), n, {k: p.grad.clone() for k, p in model.named_parameters()}))
    (a, na, ga), (b, nb, gb) = grads
    assert na == nb and abs(a - b) < 1e-3 * max(1.0, abs(a)), (a, b)
    for k in ga:
        assert torch.allclose(ga[k], gb[k], atol=1e-4), k


def test_prefix_batches_share_a_prefix_and_cover_every_example_each_epoch():
    from rlaif.algos.packing import batches_per_epoch, prefix_batches, prefix_clusters

    a, b = list(range(100, 130)), list(range(200, 230))
    seqs = [a + [i] for i in range(7)] + [b + [i] for i in range(5)] + [[1, 2, 3]]
    clusters = prefix_clusters(seqs, min_prefix=16)
    assert sorted(map(sorted, clusters)) == [list(range(7)), list(range(7, 12)), [12]]
    assert batches_per_epoch(clusters, 4) == 2 + 2  # a full batch from each cluster, the 3 + 1 + 1 rest
    batches = list(prefix_batches(clusters, 4, epochs=2, seed=0))
    assert len(batches) == 8 and sorted(map(len, batches)) == [1, 1] + [4] * 6
    for e in (batches[:4], batches[4:]):
        assert sorted(i for bt in e for i in bt) == list(range(13))  # every example once per epoch
    for e in (batches[:4], batches[4:]):  # each cluster gives one single-database batch per epoch
        assert sum(len(bt) == 4 and len({tuple(seqs[i][:16]) for i in bt}) == 1 for bt in e) >= 2
    assert batches[:4] != batches[4:]  # reshuffled
    assert len(list(prefix_batches(clusters, 4, epochs=1.5, seed=0))) == 4 + 2
    # N data processes need N members a batch (RL: full batches): the short pooled batch is dropped
    assert batches_per_epoch(clusters, 4, min_size=2) == 3
    short = list(prefix_batches(clusters, 4, epochs=2, seed=0, min_size=2))
    assert len(short) == 6 and all(len(bt) >= 2 for bt in short)
    # prompts that share only a short template stay apart: packing them would cost attention
    template = list(range(300, 320))
    assert prefix_clusters([template + list(range(k * 100, k * 100 + 60)) for k in range(3)]) == [
        [0],
        [1],
        [2],
    ]
