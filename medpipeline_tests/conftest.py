"""Shared fixtures: the real-corpus locator (skips clearly when absent) and isolated data folders."""

import os
from pathlib import Path

import pytest

CORPUS_ENV = "MEDPIPELINE_CORPUS"
_DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared real-document corpus; tests that need it skip when it is not on this machine."""
    root = Path(os.environ.get(CORPUS_ENV, _DEFAULT_CORPUS))
    if not (root / "medical").is_dir():
        pytest.skip(f"real corpus not found at {root} (set {CORPUS_ENV} to its folder)")
    return root
