"""`rlaif annotate SUBCOMMAND ...`: run a human annotation session from the command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from ..core.records import RecordError
from .store import SessionError, Settings, Store

HELP = "collect human preference labels in a browser, with gold items and agreement checks"

DESCRIPTION = """\
Collect human feedback in a browser (METHOD.md §8): annotators compare two responses (1 / 2 / tie)
or rate one (1-10, harmless yes/no), with gold items mixed in, a share of items shown to several
annotators to measure agreement, and careless annotators flagged. Labels live in one SQLite file
and export to the records the other stages read.

a session, start to finish:
  rlaif annotate init --db hf.db --input runs/demo/sample/samples.jsonl --gold gold.jsonl
        # prints the admin token; items: pairs of completions (or comparison/preference records)
  rlaif annotate add-annotator --db hf.db --name alice --attr profession=nurse --attr language=en
        # prints alice's token and a sign-in link; send it to her
  rlaif annotate serve --db hf.db --host 0.0.0.0 --port 8000
        # annotators open http://HOST:8000/, the admin opens http://HOST:8000/admin
  rlaif annotate status --db hf.db                   # progress, agreement, flagged annotators
  rlaif annotate export --db hf.db --out runs/demo/human --exclude-flagged
        # -> preferences.jsonl {prompt, chosen, rejected}, comparisons.jsonl {..., p_a = vote share}

`rlaif annotate SUBCOMMAND --help` explains each subcommand.
"""


def _settings_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("session settings (fixed at init)")
    for f in dataclasses.fields(Settings):
        g.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=type(f.default),
            default=f.default,
            help=f"{f.metadata['help']} [default: {f.default}]",
        )


def _attrs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise SessionError(f"--attr takes KEY=VALUE, got {p!r}")
        out[key] = value
    return out


def _print_token(name: str, token: str, args, path: str = "/") -> None:
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"{name} token: {token}")
    print(f"sign-in link: http://{host}:{args.port}{path}#token={token}")
    print("(shown once: store it now; a new one can be made later, which replaces it)")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="rlaif annotate", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", metavar="SUBCOMMAND")

    def cmd(name: str, help_: str, link: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.add_argument("--db", required=True, help="the session file (SQLite)")
        if link:
            p.add_argument("--host", default="127.0.0.1", help="host used in the printed link")
            p.add_argument("--port", type=int, default=8000, help="port used in the printed link")
        return p

    p = cmd("init", "create a session from a record file and print the admin token", link=True)
    p.add_argument(
        "--input",
        required=True,
        help="samples {prompt, completions}, comparisons "
        "{prompt, response_a, response_b}, preferences or (rate/harmless) sft records",
    )
    p.add_argument(
        "--gold",
        help="gold items: preference records (compare) or {prompt, output, score|harmless} (rate / harmless)",
    )
    _settings_args(p)
    p = cmd("add-items", "add more items (and gold items) to a session; duplicates are skipped")
    p.add_argument("--input", help="record file, as for init")
    p.add_argument("--gold", help="gold file, as for init")
    p = cmd("add-annotator", "register an annotator and print their token and sign-in link", link=True)
    p.add_argument("--name", required=True)
    p.add_argument(
        "--attr",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an attribute exported with each of their labels (repeatable), e.g. profession=nurse",
    )
    p = cmd("token", "give an annotator a new token (the old one stops working)", link=True)
    p.add_argument("--name", required=True)
    p = cmd("revoke", "lock an annotator out (their labels stay; their open item is freed)")
    p.add_argument("--name", required=True)
    cmd("annotators", "list annotators and their attributes")
    cmd("admin-token", "make a new admin token (the old one stops working)", link=True)
    p = cmd("serve", "run the web app (annotation page at /, admin page at /admin)")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0: all)")
    p.add_argument("--port", type=int, default=8000)
    p = cmd("status", "progress, agreement and per-annotator quality (the admin page, as text)")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p = cmd("export", "write preferences / comparisons (or ratings) and per-label files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--exclude-flagged", action="store_true", help="leave out flagged annotators' labels")
    p.add_argument("--include-gold", action="store_true", help="export gold items' labels as well")
    p.add_argument("--min-votes", type=int, default=1, help="export items with at least this many labels")
    return ap


def _init(args) -> int:
    from .items import load_gold, load_items

    settings = Settings(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Settings)}).check()
    items = load_items(args.input, settings.task, settings.pairs)  # read before creating the file
    gold = load_gold(args.gold, settings.task) if args.gold else []
    store, admin = Store.create(args.db, settings)
    added, dup = store.add_items(items + gold)
    print(
        f"session {args.db}: task {settings.task}, {len(items)} items, {len(gold)} gold items "
        f"({dup} duplicates skipped)"
    )
    _print_token("admin", admin, args, "/admin")
    return 0


def _add_items(args, store: Store) -> int:
    from .items import load_gold, load_items

    items = load_items(args.input, store.settings.task, store.settings.pairs) if args.input else []
    gold = load_gold(args.gold, store.settings.task) if args.gold else []
    added, dup = store.add_items(items + gold)
    print(f"added {added} items ({dup} already in the session)")
    return 0


def _fmt(x, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:.0%}" if pct else f"{x:.2f}"


def _status(args, store: Store) -> int:
    r = store.report()
    if args.json:
        print(json.dumps(r, indent=2, ensure_ascii=False))
        return 0
    p, a = r["progress"], r["agreement"]
    print(
        f"task {r['settings']['task']}: {p['items']} items ({p['items_started']} started, "
        f"{p['items_complete']} complete), {p['labels']} labels of {p['labels_wanted']} wanted, "
        f"{p['gold_items']} gold items ({p['gold_labels']} gold answers)"
    )
    print(
        f"agreement on {a['items_with_overlap']} overlap items: "
        f"pairwise {_fmt(a['pairwise_agreement'], 1)}, "
        f"Krippendorff alpha {_fmt(a['krippendorff_alpha'])}, Fleiss kappa {_fmt(a['fleiss_kappa'])}"
    )
    if "without_flagged" in a:
        w = a["without_flagged"]
        print(
            f"  without flagged annotators ({w['items_with_overlap']} items): pairwise "
            f"{_fmt(w['pairwise_agreement'], 1)}, alpha {_fmt(w['krippendorff_alpha'])}"
        )
    print(
        f"{'annotator':<16}{'labels':>7}{'gold acc':>10}{'agree':>8}{'kappa':>7}{'med s':>7}"
        f"{'same':>6}  flags"
    )
    for x in r["annotators"]:
        gold = f"{_fmt(x['gold_accuracy'], 1)} ({x['gold_n']})" if x["gold_n"] else "-"
        print(
            f"{x['name'][:15]:<16}{x['labels']:>7}{gold:>10}{_fmt(x['agreement'], 1):>8}"
            f"{_fmt(x['kappa']):>7}{_fmt(x['median_seconds']):>7}{_fmt(x['same_answer'], 1):>6}  "
            + ("; ".join(x["flags"]) or ("ok" if x["active"] else "revoked"))
        )
    return 0


def _run(args) -> int:
    if args.cmd == "init":
        return _init(args)
    if args.cmd == "serve":
        from ..core.errors import check_port_free

        check_port_free(args.host, args.port, "rlaif annotate serve")
    store = Store(args.db)
    try:
        if args.cmd == "serve":
            from .server import serve

            print(
                f"[rlaif] annotate: http://{args.host}:{args.port}/  (admin: /admin)  Ctrl-C stops",
                flush=True,
            )
            serve(store, args.host, args.port)
        elif args.cmd == "add-items":
            return _add_items(args, store)
        elif args.cmd == "add-annotator":
            _print_token(args.name, store.add_annotator(args.name, _attrs(args.attr)), args)
        elif args.cmd == "token":
            _print_token(args.name, store.new_token(args.name), args)
        elif args.cmd == "revoke":
            store.revoke(args.name)
            print(f"revoked {args.name}")
        elif args.cmd == "annotators":
            for a in store.annotators():
                print(
                    f"{a['name']:<20} {'active' if a['active'] else 'revoked':<8} "
                    f"{json.dumps(a['attributes'], ensure_ascii=False)}"
                )
        elif args.cmd == "admin-token":
            _print_token("admin", store.new_admin_token(), args, "/admin")
        elif args.cmd == "status":
            return _status(args, store)
        elif args.cmd == "export":
            from .export import export

            m = export(store, args.out, args.exclude_flagged, args.include_gold, args.min_votes)
            counts = ", ".join(f"{n}: {c}" for n, c in m["counts"].items())
            excl = f" (excluded: {', '.join(m['excluded_annotators'])})" if m["excluded_annotators"] else ""
            print(f"exported to {args.out}: {counts}{excl}")
    finally:
        store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd is None:
        ap.print_help()
        return 0
    try:
        return _run(args)
    except (SessionError, RecordError, ValueError) as e:
        print(f"rlaif annotate {args.cmd}: error: {e}", file=sys.stderr)
        return 1
