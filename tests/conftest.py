"""Shared fixtures: a tiny model built from configs (seconds), small record files, full/short mode."""

import json
import os
from pathlib import Path

import pytest

FULL = os.environ.get("RLAIF_FULL") == "1"  # slow end-to-end tests run in a short form unless set


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    from rlaif.testing import make_tiny_model

    return str(make_tiny_model(tmp_path_factory.mktemp("tiny") / "model"))


@pytest.fixture(scope="session")
def tiny_model_nochat(tmp_path_factory) -> str:
    from rlaif.testing import make_tiny_model

    return str(make_tiny_model(tmp_path_factory.mktemp("tiny_nochat") / "model", chat=False))


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def sft_file(tmp_path) -> Path:
    rows = [
        {"prompt": f"Question {i}: what is {i} plus {i}?", "output": f"The answer is {2 * i}."}
        for i in range(12)
    ]
    return write_jsonl(tmp_path / "sft.jsonl", rows)
