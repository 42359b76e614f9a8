"""Task `summarize`: one-sentence summaries of documents, with a reference summary as ground truth.

1. Documents that work offline, each with a real reference written by a person:
   - `news` (default): the Lee corpus, 350 ABC (Australia) news articles shipped as gensim test data
     (`lee_background.cor`, `lee.cor`, read from the pinned wheel with zipfile; see sources.py).
     As in XSum (Narayan et al., 2018), the article's lead sentence is the reference summary and
     the rest of the article is the text to summarize.
   - `docstrings`: Python's standard library. A docstring's one-line summary (PEP 257) is the
     reference, its body the text. No download at all; the set depends on the Python version.
   Online users get Reddit TL;DR and Anthropic HH through `loaders.py` instead.
2. Prompt (`format=tldr`, default): `{text}\n\nTL;DR:`, the convention of the OpenAI/CarperAI TL;DR
   data, so the labeler's `Text - {prompt}` block reads naturally. `format=instruct` asks in words:
   "Summarize the following text in one sentence.\n\nText - {text}\n\nSummary -".
3. Oracle: ROUGE F-measures against the reference (`rouge`: mean of ROUGE-1, ROUGE-2, ROUGE-L;
   lower-cased word tokens). `prefer` says a is better when its score exceeds b's by `margin`
   (default 0.02), b when the reverse, else a tie (`None`, or `tie=0.5`).
4. Splits: documents are hashed into sft 50% / preference 20% / rl 15% / test 15%.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import re
import warnings
from collections import Counter

from ..core.records import prompt_text, response_text
from .text2sql.questions import SHARES, SPLITS

LEE_FILES = ("gensim/test/test_data/lee_background.cor", "gensim/test/test_data/lee.cor")
STDLIB_MODULES = (
    "abc argparse ast asyncio base64 bisect calendar collections configparser contextlib copy csv "
    "dataclasses datetime decimal difflib email.message enum fnmatch fractions functools getpass "
    "glob gzip hashlib heapq hmac html http.client http.cookies imaplib inspect io ipaddress "
    "itertools json locale logging mailbox mimetypes operator optparse os pathlib pickle pprint "
    "queue random re sched secrets shlex shutil smtplib socket sqlite3 ssl statistics string "
    "subprocess tarfile tempfile textwrap threading timeit tokenize traceback types typing "
    "unittest urllib.parse urllib.request uuid warnings weakref xml.dom.minidom zipfile zoneinfo"
).split()
_ABBREV = re.compile(
    r"\b(Mr|Mrs|Ms|Dr|St|Prof|Gen|Sen|Rep|Gov|Lt|Col|Sgt|Capt|Jan|Feb|Aug|Sept|Oct|Nov|"
    r"Dec|No|Inc|Ltd|Co|Corp|vs|etc|e\.g|i\.e|U\.S|U\.N)\.$"
)
_TOKEN = re.compile(r"\w+")


# --------------------------------------------------------------------------- ROUGE


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _f1(overlap: int, n_pred: int, n_ref: int) -> float:
    if not overlap:
        return 0.0
    p, r = overlap / n_pred, overlap / n_ref
    return 2 * p * r / (p + r)


def rouge_n(pred: list[str], ref: list[str], n: int) -> float:
    grams = lambda t: Counter(tuple(t[i : i + n]) for i in range(len(t) - n + 1))  # noqa: E731
    gp, gr = grams(pred), grams(ref)
    return _f1(sum((gp & gr).values()), sum(gp.values()), sum(gr.values()))


def rouge_l(pred: list[str], ref: list[str]) -> float:
    if not pred or not ref:
        return 0.0
    prev = [0] * (len(ref) + 1)
    for a in pred:  # longest common subsequence, one row at a time
        cur = [0]
        for j, b in enumerate(ref):
            cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
        prev = cur
    return _f1(prev[-1], len(pred), len(ref))


def rouge(pred: str, ref: str) -> dict[str, float]:
    p, r = tokens(pred), tokens(ref)
    scores = {"rouge1": rouge_n(p, r, 1), "rouge2": rouge_n(p, r, 2), "rougeL": rouge_l(p, r)}
    return scores | {"rouge": sum(scores.values()) / 3}


# --------------------------------------------------------------------------- documents


def split_sentences(text: str) -> list[str]:
    """Sentences of news prose; does not split after common abbreviations (Mr., Jan., U.S.)."""
    parts, start = [], 0
    for m in re.finditer(r"[.!?][\"']?\s+(?=[\"'A-Z0-9])", text):
        head = text[start : m.start() + 1]
        if _ABBREV.search(head) or re.search(r"\b[A-Z]\.$", head):
            continue
        parts.append(text[start : m.end()].strip())
        start = m.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _clip(sentences: list[str], max_words: int) -> str:
    out, n = [], 0
    for s in sentences:
        n += len(s.split())
        if out and n > max_words:
            break
        out.append(s)
    return " ".join(out)


def news_documents(max_words: int = 300) -> list[dict]:
    """The Lee corpus as {id, text, reference}: lead sentence as the reference (XSum style)."""
    from . import sources

    docs = []
    for member in LEE_FILES:
        lines = sources.read_member("gensim", member).decode("latin-1").splitlines()
        stem = member.rsplit("/", 1)[-1].split(".")[0]
        for i, line in enumerate(lines):
            sents = split_sentences(line.strip())
            if len(sents) < 3:
                continue
            lead, body = sents[0], sents[1:]
            if not 8 <= len(lead.split()) <= 60 or sum(len(s.split()) for s in body) < 50:
                continue
            docs.append(
                {"id": f"{stem}/{i}", "text": _clip(body, max_words), "reference": lead, "source": "news"}
            )
    return docs


def _docstring_parts(doc: str) -> tuple[str, str] | None:
    paras = re.split(r"\n\s*\n", inspect.cleandoc(doc), maxsplit=1)
    if len(paras) < 2:
        return None
    summary = " ".join(paras[0].split())
    body = paras[1].strip()
    if not 4 <= len(summary.split()) <= 30 or len(body.split()) < 40 or ">>>" in body[:200]:
        return None
    return summary, body


def docstring_documents(max_words: int = 300) -> list[dict]:
    """Standard-library docstrings as {id, text, reference}: the summary line is the reference."""
    docs, seen = [], set()
    for modname in STDLIB_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        objs = [(modname, mod)]
        for name, obj in sorted(vars(mod).items()):
            if (
                name.startswith("_")
                or inspect.ismodule(obj)
                or getattr(obj, "__module__", modname) != mod.__name__
            ):
                continue
            objs.append((f"{modname}.{name}", obj))
            if inspect.isclass(obj):
                objs += [
                    (f"{modname}.{name}.{m}", f)
                    for m, f in sorted(vars(obj).items())
                    if not m.startswith("_") and callable(f)
                ]
        for qual, obj in objs:
            with warnings.catch_warnings():  # typing.io and friends warn when touched
                warnings.simplefilter("ignore", DeprecationWarning)
                doc = getattr(obj, "__doc__", None)
            parts = _docstring_parts(doc) if isinstance(doc, str) else None
            if parts and parts[1] not in seen:
                seen.add(parts[1])
                words = parts[1].split()
                text = parts[1] if len(words) <= max_words else " ".join(words[:max_words]) + " ..."
                docs.append({"id": qual, "text": text, "reference": parts[0], "source": "docstrings"})
    return docs


SOURCES = {"news": news_documents, "docstrings": docstring_documents}


def assign_doc_splits(docs: list[dict], shares: tuple = SHARES, seed: int = 0) -> list[dict]:
    """Hash order, then exact shares: the same document always lands in the same split."""
    order = sorted(docs, key=lambda d: hashlib.sha256(f"{seed}:{d['id']}".encode()).hexdigest())
    bounds, acc = [], 0.0
    for s in shares:
        acc += s
        bounds.append(round(acc * len(order)))
    for i, d in enumerate(order):
        d["split"] = SPLITS[next(j for j, b in enumerate(bounds) if i < b)]
    return docs


# --------------------------------------------------------------------------- the task


class Summarize:
    """Documents + reference summaries + ROUGE oracle. See the module docstring."""

    name = "summarize"
    splits = SPLITS
    capabilities = frozenset({"prefer", "evaluate"})

    def __init__(
        self,
        source: str = "news",
        format: str = "tldr",
        margin: float = 0.02,
        tie: float | None = None,
        max_words: int = 300,
        seed: int = 0,
        path: str = "",
    ):
        if source not in SOURCES:
            raise ValueError(f"unknown summarize source {source!r}; use {', '.join(SOURCES)}")
        if format not in ("tldr", "instruct"):
            raise ValueError(f"unknown summarize format {format!r}; use tldr or instruct")
        self.format, self.margin = format, float(margin)
        self.tie = None if tie in (None, "none") else float(tie)
        self.docs = assign_doc_splits(SOURCES[source](int(max_words)), seed=int(seed))
        if not self.docs:
            raise ValueError(f"summarize source {source!r} produced no documents")
        self._by_prompt: dict[str, dict] | None = None

    def prompt(self, doc: dict) -> str:
        if self.format == "tldr":
            return f"{doc['text']}\n\nTL;DR:"
        return f"Summarize the following text in one sentence.\n\nText - {doc['text']}\n\nSummary -"

    def records(self, split: str) -> list[dict]:
        """{id, prompt, text, reference, source}; sft adds `output` (the reference)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
        out = []
        for d in self.docs:
            if d["split"] == split:
                rec = {
                    "id": d["id"],
                    "prompt": self.prompt(d),
                    "text": d["text"],
                    "reference": d["reference"],
                    "source": d["source"],
                }
                out.append(rec | ({"output": d["reference"]} if split == "sft" else {}))
        return out

    def _reference(self, prompt, reference: str | None) -> str:
        if reference is not None:
            return reference
        if self._by_prompt is None:
            self._by_prompt = {self.prompt(d): d for d in self.docs}
        d = self._by_prompt.get(prompt_text(prompt))
        if d is None:
            raise KeyError("prompt not found in the task's documents; pass reference=")
        return d["reference"]

    def score(self, prompt, completion, reference: str | None = None) -> float:
        return rouge(response_text(completion), self._reference(prompt, reference))["rouge"]

    def reward(self, prompts: list, completions: list, /, **kw) -> list[float]:
        """Mean ROUGE-1/2/L F-measure of each completion against its reference summary."""
        refs = kw.get("reference")
        return [
            self.score(p, c, refs[i] if refs else None) for i, (p, c) in enumerate(zip(prompts, completions))
        ]

    def prefer(self, prompt, a, b, /, **kw) -> float | None:
        ref = kw.get("reference")
        d = self.score(prompt, a, ref) - self.score(prompt, b, ref)
        if abs(d) <= self.margin:
            return self.tie
        return 1.0 if d > 0 else 0.0

    def evaluate(self, records: list[dict], completions: list) -> dict:
        if len(records) != len(completions):
            raise ValueError(f"{len(records)} records but {len(completions)} completions")
        totals: Counter = Counter()
        for r, c in zip(records, completions):
            totals.update(rouge(response_text(c), self._reference(r["prompt"], r.get("reference"))))
            totals["chars"] += len(response_text(c))
        n = max(1, len(records))
        return {"n": len(records)} | {k: v / n for k, v in totals.items()}
