"""Labeler prompts: preamble + few-shot exemplars + the sample block + the ending (METHOD.md 2).

1. Templates are plain files in a folder (`templates/summarize/`: base.txt, detailed.txt, sample.txt,
   ending.txt, cot.txt, template.yaml). Copy a folder, edit the text, point `label.template` at it.
2. Placeholders are `{prompt}`, `{response_1}`, `{response_2}` (and `{result_1}`, `{result_2}` for
   execution results). They are substituted literally, never with str.format: SQL, JSON and code
   are full of braces.
3. A prompt is returned in two parts, `user` (preamble ... sample) and `ending` ("Preferred
   Summary="). The hf backend puts `user` in the chat template's user turn and starts the assistant
   turn with `ending`, so the "1"/"2" it reads is the assistant's first token; raw-prompt backends
   join them with a blank line, as in the paper.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TEMPLATES = Path(__file__).parent / "templates"
BUILTIN = ("summarize", "helpful", "harmless", "text2sql")
TASK_TEMPLATE = {
    "summarize": "summarize",
    "text2sql": "text2sql",
    "helpful": "helpful",
    "harmless": "harmless",
    "dialogue": "helpful",
    "hh": "helpful",
}


def fill(template: str, **values: str) -> str:
    """Substitute `{name}` for the given names only; any other brace text is left alone."""
    return re.sub(
        r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8").rstrip("\n")


@dataclass
class Exemplar:
    prompt: str
    response_1: str
    response_2: str
    preferred: int
    rationale: str = ""
    results: tuple[str, str] | None = None  # each response's execution result (text2sql), if given


@dataclass
class PairTemplate:
    """A pairwise labeler prompt. `invert`: the ending asks for the worse response (harmless)."""

    name: str
    preamble: str
    sample: str
    ending: str
    cot: str
    choices: tuple[str, str] = ("1", "2")
    invert: bool = False
    result_format: str = "\nResult {n} - {result}"
    subject: str = "response"
    exemplars: list[Exemplar] = field(default_factory=list)

    def block(self, prompt: str, first: str, second: str, results: tuple[str, str] | None = None) -> str:
        res = (
            [fill(self.result_format, n=str(k + 1), result=r) for k, r in enumerate(results)]
            if results
            else ["", ""]
        )
        return fill(
            self.sample, prompt=prompt, response_1=first, response_2=second, result_1=res[0], result_2=res[1]
        )

    def user(
        self, prompt: str, first: str, second: str, results: tuple[str, str] | None = None, cot: bool = False
    ) -> str:
        """Preamble, exemplars and the sample: everything before the ending."""
        shots = []
        for ex in self.exemplars:  # shown with results only where the sample has them too
            shot = self.block(ex.prompt, ex.response_1, ex.response_2, ex.results if results else None)
            if cot and ex.rationale:
                shot += f"\n\n{self.cot} {ex.rationale}"
            shots.append(f"{shot}\n\n{self.ending}{self.choices[ex.preferred - 1]}")
        return "\n\n".join([self.preamble, *shots, self.block(prompt, first, second, results)])

    def ending_for(self, rationale: str | None = None) -> str:
        """The text after the sample: the ending, or for CoT step 2 the rationale then the ending."""
        if rationale is None:
            return self.ending
        return f"{self.cot} {rationale.strip()}\n\n{self.ending}"


def _resolve_folder(template: str, task: str) -> Path:
    from ..tasks import task_kind

    name = template or TASK_TEMPLATE.get(task_kind(task), "")  # `spider:/d,copies=0` -> text2sql
    if not name:
        raise ValueError(
            f"label.template: no built-in template for task {task!r}; set label.template "
            f"to one of {', '.join(BUILTIN)} or to a template folder"
        )
    folder = TEMPLATES / name if name in BUILTIN else Path(name)
    if not (folder / "sample.txt").exists():
        raise FileNotFoundError(
            f"label.template: {folder} is not a template folder (needs sample.txt, "
            f"ending.txt, base.txt/detailed.txt, cot.txt); built-ins: {', '.join(BUILTIN)}"
        )
    return folder


def load_template(
    template: str = "",
    task: str = "summarize",
    preamble: str = "detailed",
    exemplars: str = "",
    shots: int = 0,
) -> PairTemplate:
    folder = _resolve_folder(template, task)
    meta = (
        yaml.safe_load((folder / "template.yaml").read_text()) if (folder / "template.yaml").exists() else {}
    )
    if preamble in ("base", "detailed", "openai"):
        pre = _read(folder / ("base.txt" if preamble == "base" else "detailed.txt"))
    elif Path(preamble).exists():
        pre = _read(Path(preamble))
    else:
        raise FileNotFoundError(f"label.preamble: {preamble!r} is neither base, detailed nor a file")
    t = PairTemplate(
        name=folder.name,
        preamble=pre,
        sample=_read(folder / "sample.txt"),
        ending=_read(folder / "ending.txt"),
        cot=_read(folder / "cot.txt"),
        choices=tuple(str(c) for c in meta.get("choices", ("1", "2"))),
        invert=bool(meta.get("invert", False)),
        result_format=meta.get("result_format", "\nResult {n} - {result}"),
        subject=meta.get("direct_subject", "response"),
    )
    if exemplars and shots:
        t.exemplars = read_exemplars(exemplars)[:shots]
    return t


def read_exemplars(path: str) -> list[Exemplar]:
    out = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        rec = json.loads(line)
        try:
            out.append(
                Exemplar(
                    rec["prompt"],
                    rec["response_1"],
                    rec["response_2"],
                    int(rec["preferred"]),
                    rec.get("rationale", ""),
                    (str(rec["result_1"]), str(rec["result_2"])) if "result_1" in rec else None,
                )
            )
        except KeyError as e:
            raise ValueError(f"{path}:{i}: exemplar field {e} is missing") from None
        if out[-1].preferred not in (1, 2):
            raise ValueError(f"{path}:{i}: 'preferred' must be 1 or 2")
    return out


# --------------------------------------------------------------------------- d-RLAIF and SALMON


@dataclass
class DirectTemplate:
    """d-RLAIF: rate one response 1-10 (METHOD.md 5)."""

    text: str
    ending: str
    subject: str = "response"
    choices: tuple[str, ...] = tuple(str(i) for i in range(1, 11))

    def user(self, prompt: str, response: str) -> str:
        return fill(
            self.text,
            prompt=prompt,
            response=response,
            subject=self.subject,
            Subject=self.subject.capitalize(),
        )


def load_direct_template(template: str = "", task: str = "summarize") -> DirectTemplate:
    try:
        subject = load_template(template, task, "base").subject
    except (ValueError, FileNotFoundError):
        subject = "response"
    folder = Path(template) if template and template not in BUILTIN else TEMPLATES
    text = folder / "direct.txt" if (folder / "direct.txt").exists() else TEMPLATES / "direct.txt"
    end = (
        folder / "direct_ending.txt"
        if (folder / "direct_ending.txt").exists()
        else TEMPLATES / "direct_ending.txt"
    )
    return DirectTemplate(_read(text), _read(end), subject)


@dataclass
class Principle:
    name: str
    definition: str
    weight: float = 1.0


@dataclass
class PrincipleTemplate:
    """SALMON: which output is more {name}? ending "... Output (" then "a" or "b" (METHOD.md 7)."""

    text: str
    ending: str
    choices: tuple[str, str] = ("a", "b")

    def user(self, prompt: str, first: str, second: str, p: Principle) -> str:
        return fill(
            self.text,
            prompt=prompt,
            response_a=first,
            response_b=second,
            name=p.name,
            definition=p.definition,
        )

    def ending_for(self, p: Principle) -> str:
        return fill(self.ending, name=p.name)


def load_principles(path: str = "") -> list[Principle]:
    """Principles from YAML: a list of {name, definition, weight}, or {principles: [...]}."""
    src = (
        Path(path) if path else Path(__file__).parent.parent / "principles" / "default.yaml"
    )  # SALMON's list
    data = yaml.safe_load(src.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("principles", data.get("rm", []))
    out = [
        Principle(
            str(d["name"]), str(d.get("definition", d.get("description", ""))), float(d.get("weight", 1.0))
        )
        for d in data
    ]
    if not out:
        raise ValueError(f"{src}: no principles")
    return out


def load_principle_template() -> PrincipleTemplate:
    return PrincipleTemplate(_read(TEMPLATES / "principle.txt"), _read(TEMPLATES / "principle_ending.txt"))
