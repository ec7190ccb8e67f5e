"""A stand-in here for the GPU machine's Python: this interpreter with only present.txt's packages.

    python benchmarks/device/standin.py .whl-here/python

A virtual environment whose site-packages holds links to this environment's copies of the
packages present.txt names, and nothing else: run.sh, given its python, then finds Ray, Optuna
and the rest only in the wheels it installed, as on the GPU machine, so a wheel missing from
fetch.py's set fails here. (Its versions are this machine's, and its Python is this one.)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

from fetch import present_packages
from packaging.utils import canonicalize_name


def top_levels(dist: metadata.Distribution) -> set[str]:
    """The entries a distribution puts in site-packages (its folders, modules, dist-info)."""
    return {
        f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] not in ("..", "__pycache__")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("venv", type=Path)
    args = parser.parse_args()
    if args.venv.exists():
        shutil.rmtree(args.venv)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(args.venv)], check=True)
    python = args.venv / "bin" / "python"
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    here = Path(sysconfig.get_path("purelib"))
    present = present_packages(here=True)
    linked = 0
    for dist in metadata.distributions(path=[str(here)]):
        if canonicalize_name(dist.metadata["Name"]) in present:
            for entry in top_levels(dist):
                if (here / entry).exists() and not (target / entry).exists():
                    (target / entry).symlink_to(here / entry)
                    linked += 1
    print(f"{python}: {len(present)} packages of present.txt ({linked} entries linked)")


if __name__ == "__main__":
    main()
