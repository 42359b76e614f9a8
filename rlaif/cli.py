"""`rlaif STAGE --config FILE.yaml [--section.key=value ...]`: a table from stage name to its run()."""

from __future__ import annotations

import importlib
import sys
import textwrap

from .core.config import Config, ConfigError, describe, load_config, parse_stage_args
from .core.errors import UserError

# what a user's mistake raises: answered with one line, never a traceback (a FileNotFoundError or a
# permission error is about a path the user gave)
USER_ERRORS = (UserError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)

# commands that parse their own arguments: name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "rlaif.demo",
        "the built-in text2sql study: SFT, RLHF, RLAIF, d-RLAIF, DPO, measured (--quick: ~10 min)",
    ),
    "run": ("rlaif.pipeline", "the whole chain from one YAML: sft -> sample -> label -> rm -> rl -> eval"),
    "annotate": ("rlaif.annotate.cli", "collect human preference labels in a browser (quality-checked)"),
    "data": (
        "rlaif.tasks.command",
        "write a task's splits or a public data set as JSONL (text2sql, summarize, spider:PATH, tldr, "
        "hh-helpful, ...)",
    ),
}

USAGE = """usage: rlaif COMMAND [--config FILE.yaml] [--force] [--section.key=value ...]

Align language models with AI feedback (RLAIF), human feedback (RLHF) or both.
Each stage reads the previous stage's folder under --out and writes its own:
  OUT/sft -> OUT/sample -> OUT/label -> OUT/rm -> OUT/rl -> OUT/eval

stages (config-driven; `rlaif STAGE --help` lists every option with its default):
{stages}
{commands}
examples:
  rlaif sft --config configs/demo.yaml --sft.epochs=2 --model.lora.enabled=true
  rlaif sample --config configs/demo.yaml --sample.n=4 --sample.temperature=0.7
"""


def _stage_help() -> str:
    from .stages import STAGES

    return "\n".join(f"  {name:<10} {st.help}" for name, st in STAGES.items())


def _command_help() -> str:
    if not COMMANDS:
        return ""
    return (
        "other commands (`rlaif COMMAND --help`):\n"
        + "\n".join(f"  {n:<10} {h}" for n, (_, h) in COMMANDS.items())
        + "\n"
    )


def stage_usage(name: str) -> str:
    """Every option a stage reads, with its default and meaning."""
    from .stages import STAGES

    st = STAGES[name]
    rows = [r for r in describe(Config) if "." not in r[0] or r[0].split(".")[0] in st.sections]
    width = max(len(k) for k, _, _ in rows) + 2
    lines = [
        f"usage: rlaif {name} [--config FILE.yaml] [--force] [--KEY=VALUE ...]",
        "",
        st.help,
        "",
        "options (YAML keys; on the command line as --KEY=VALUE):",
    ]
    for key, default, help_ in rows:
        wrapped = textwrap.wrap(f"{help_} [default: {default}]", 100 - width) or [""]
        lines.append(f"  {key:<{width}}{wrapped[0]}")
        lines += [" " * (width + 2) + w for w in wrapped[1:]]
    lines += [
        "",
        "  --config FILE   YAML file with any of the sections above",
        "  --force         recompute even if OUT/" + name + " is complete",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .stages import STAGES

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE.format(stages=_stage_help(), commands=_command_help()))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS and name not in STAGES:
        print(f"rlaif: unknown command {name!r}; run `rlaif --help` for the list", file=sys.stderr)
        return 2
    try:
        return _dispatch(name, rest)
    except ConfigError as e:
        print(f"rlaif {name}: config error: {e}", file=sys.stderr)
        return 2
    except USER_ERRORS as e:
        print(f"rlaif {name}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"rlaif {name}: interrupted; what was written so far is kept (run the same command to resume)",
            file=sys.stderr,
        )
        return 130


def _dispatch(name: str, rest: list[str]) -> int:
    from .stages import STAGES, run_stage

    if name in COMMANDS:
        return importlib.import_module(COMMANDS[name][0]).main(rest)
    if rest and rest[0] in STAGES[name].subcommands:  # e.g. `rlaif rm serve ...`
        return importlib.import_module(STAGES[name].subcommands[rest[0]]).main(rest[1:])
    if "-h" in rest or "--help" in rest:
        print(stage_usage(name))
        return 0
    config, force, overrides = parse_stage_args(rest)
    cfg = load_config(config, overrides)
    out = run_stage(name, cfg, force=force)
    print(f"[rlaif] {name}: done -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
