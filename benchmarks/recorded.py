"""A benchmark's raw results, kept in the repository beside its script, and the docs' tables
drawn from them.

Each benchmark writes what it measured, every row of every seed, to `benchmarks/NAME.json`
(or `--out`), after each seed so a long run that stops keeps what it has, with the command
that made it and the machine it ran on. A table in docs/ between

    <!-- benchmarks/warm_start.json: table -->
    ...
    <!-- end -->

is what the named function of that benchmark (`table`, `summary`) renders from the file:

    python benchmarks/recorded.py           # rewrite every generated table in docs/
    python benchmarks/recorded.py --check   # say which differ from their files (exit 1)
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

BENCHMARKS = Path(__file__).resolve().parent
REPOSITORY = BENCHMARKS.parent
DOCS = REPOSITORY / "docs"
MARKED = re.compile(
    r"(?P<open><!-- benchmarks/(?P<file>[\w.-]+\.json): (?P<function>\w+) -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- end -->)",
    re.DOTALL,
)


def beside(script: str, case: str | None = None) -> Path:
    """Where a benchmark keeps its results: `benchmarks/SCRIPT.json`, or `SCRIPT.CASE.json`
    for one that runs on a study (CASE: the study file's name)."""
    return BENCHMARKS / (f"{script}.{case}.json" if case else f"{script}.json")


def save(out: Path, rows: Any, *, complete: bool, **about: Any) -> None:
    """Write the raw results with what made them: the command, when, the machine."""
    record = {
        "command": " ".join(["python", *(_relative(a) for a in sys.argv)]),
        "finished" if complete else "stopped_after": datetime.now()
        .astimezone()
        .isoformat(timespec="seconds"),
        "machine": machine(),
        **about,
        "rows": rows,
    }
    out.write_text(json.dumps(record, indent=2, default=_plain) + "\n")


def machine() -> dict[str, Any]:
    import optuna
    import ray
    import torch

    return {
        "cpus": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "optuna": optuna.__version__,
    }


def rendered(file: str, function: str) -> str:
    """What `function` of the benchmark that wrote `file` makes of its rows."""
    script = file.split(".")[0]
    sys.path.insert(0, str(BENCHMARKS))
    try:
        module = importlib.import_module(script)
    finally:
        sys.path.remove(str(BENCHMARKS))
    record = json.loads((BENCHMARKS / file).read_text())
    rows = record["rows"]
    if hasattr(module, "Outcome") and isinstance(rows, list):
        rows = [module.Outcome(**row) for row in rows]
    return getattr(module, function)(rows).rstrip("\n") + "\n"


def regenerate(text: str) -> str:
    def fill(match: re.Match[str]) -> str:
        body = rendered(match["file"], match["function"])
        return match["open"] + body + match["close"]

    return MARKED.sub(fill, text)


def stale(docs: Path = DOCS) -> list[str]:
    """Each generated table of docs/ that differs from what its file renders."""
    found = []
    for page in sorted(docs.glob("*.md")):
        text = page.read_text()
        for match in MARKED.finditer(text):
            if match["body"] != rendered(match["file"], match["function"]):
                found.append(f"{docs.name}/{page.name}: benchmarks/{match['file']}")
    return found


def _relative(argument: str) -> str:
    path = Path(argument)
    if path.is_absolute() and path.is_relative_to(REPOSITORY):
        return str(path.relative_to(REPOSITORY))
    return argument


def _plain(value: Any) -> Any:
    """What JSON cannot hold as it is: a dataclass as its fields, anything else as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say which tables differ")
    args = parser.parse_args()
    if args.check:
        differing = stale()
        for line in differing:
            print(f"differs from its results: {line}")
        sys.exit(1 if differing else 0)
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        new = regenerate(text)
        if new != text:
            page.write_text(new)
            print(f"rewritten: {page.relative_to(REPOSITORY)}")


if __name__ == "__main__":
    main()
