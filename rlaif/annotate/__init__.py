"""Human feedback done well: a browser annotation app with quality control (METHOD.md §8).

| file         | what                                                                      |
|--------------|---------------------------------------------------------------------------|
| `cli.py`     | `rlaif annotate init / add-annotator / serve / status / export ...`       |
| `items.py`   | record files (samples, comparisons, preferences, sft) -> items; gold files |
| `store.py`   | the session: SQLite (WAL, durable before ack), assignment, labels, tokens |
| `quality.py` | Cohen's and Fleiss' κ, Krippendorff's α, gold accuracy, annotator flags    |
| `export.py`  | labels -> preferences / soft-labeled comparisons / ratings JSONL          |
| `server.py`  | FastAPI app: token auth, size limits, strict CSP (imported only by `serve`) |
| `static/`    | the annotation and admin pages: plain HTML/JS/CSS, no build step          |

Nothing here is imported by `import rlaif`; the web server loads only for `rlaif annotate serve`.
"""
