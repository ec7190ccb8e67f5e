"""Is everything hpsearch needs importable here, at versions that fit? The first step of run.sh.

    python benchmarks/device/check.py [--out versions.json]

Walks the project's requirements (pyproject.toml) and, from each distribution they reach, its
own requirements (markers and extras evaluated for this interpreter), against what this Python
finds on its path: the GPU machine's own packages and the wheels run.sh installed. Prints one
line for each requirement nothing here meets and exits 1 if any; writes the versions of what it
found, with the interpreter, torch, CUDA and the GPU, to --out.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def project_requirements() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    return re.findall(r'^\s*"([^"]+)"', block, re.M)


def applying(
    lines: list[str], extras: set[str] | frozenset[str] = frozenset(), env: dict | None = None
):
    """Each of a distribution's requirements (Requires-Dist lines) that applies on this
    interpreter, or in `env`, with one of `extras` asked: (the requirement without its marker,
    the extra that brought it, "" for none)."""
    for line in lines:
        dep = Requirement(line)
        extra: str | None = ""
        if dep.marker is not None and not dep.marker.evaluate({**(env or {}), "extra": ""}):
            wanting = [
                e for e in sorted(extras) if dep.marker.evaluate({**(env or {}), "extra": e})
            ]
            extra = wanting[0] if wanting else None
        if extra is not None:
            dep.marker = None
            yield dep, extra


def installed() -> dict[str, metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():  # the first on the path wins, as for imports
        found.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    return found


def unmet(requirements: list[str], found: dict[str, metadata.Distribution]) -> list[str]:
    """One line for each requirement, reached from `requirements`, that nothing found meets."""
    problems: list[str] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    queue = [(Requirement(r), "pyproject.toml") for r in requirements]
    while queue:
        req, wanted_by = queue.pop()
        extras = req.extras or {""}
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras):
            continue
        name = canonicalize_name(req.name)
        dist = found.get(name)
        if dist is None:
            problems.append(f"{req} (wanted by {wanted_by}): not installed")
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            problems.append(f"{req} (wanted by {wanted_by}): {dist.version} is installed")
        if (name, frozenset(req.extras)) in seen:
            continue
        seen.add((name, frozenset(req.extras)))
        for dep, extra in applying(dist.requires or [], req.extras):
            queue.append((dep, f"{name}[{extra}]" if extra else name))
    return sorted(set(problems))


def versions(found: dict[str, metadata.Distribution]) -> dict[str, object]:
    facts: dict[str, object] = {"python": sys.version.split()[0], "machine": platform.machine()}
    try:
        import torch

        facts["cuda"] = torch.version.cuda
        facts["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        pass
    facts["packages"] = {name: dist.version for name, dist in sorted(found.items())}
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    found = installed()
    problems = unmet(project_requirements(), found)
    facts = versions(found)
    if args.out:
        args.out.write_text(json.dumps({**facts, "unmet": problems}, indent=2) + "\n")
    print(f"python {facts['python']}, cuda {facts.get('cuda')}, gpu {facts.get('gpu')}")
    for name in ("torch", "torchvision", "ray", "optuna", "optuna-dashboard", "pydantic"):
        print(f"  {name} {facts['packages'].get(name, 'MISSING')}")
    for problem in problems:
        print(f"unmet: {problem}")
    if problems:
        sys.exit(1)
    print(f"every requirement met ({len(found)} distributions on the path)")


if __name__ == "__main__":
    main()
