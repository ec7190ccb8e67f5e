"""The docs' benchmark tables are what their committed raw results render (recorded.py)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.search_tests.helpers import benchmark_module

recorded = benchmark_module("recorded")


def test_every_generated_table_of_the_docs_is_what_its_results_render() -> None:
    assert recorded.stale() == []  # else: python benchmarks/recorded.py, and commit


def test_the_docs_draw_their_tables_from_results_kept_beside_the_scripts() -> None:
    pages = "".join(page.read_text() for page in recorded.DOCS.glob("*.md"))
    files = {match["file"] for match in recorded.MARKED.finditer(pages)}
    assert {"warm_start.json", "search_quality.quickstart.json"} <= files
    for file in files:
        record = json.loads((recorded.BENCHMARKS / file).read_text())
        assert record["command"].startswith("python benchmarks/") and record["rows"]


def test_a_figure_changed_by_hand_is_found_and_rewritten(tmp_path: Path) -> None:
    page = next(
        p for p in sorted(recorded.DOCS.glob("*.md")) if recorded.MARKED.search(p.read_text())
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    text = page.read_text()
    body = recorded.MARKED.search(text)["body"]
    edited = text.replace(body, body.replace("|", "| 0.999 |", 1), 1)
    (docs / page.name).write_text(edited)
    file = recorded.MARKED.search(text)["file"]
    assert recorded.stale(docs) == [f"docs/{page.name}: benchmarks/{file}"]
    assert recorded.regenerate(edited) == text
