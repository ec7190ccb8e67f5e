from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from search.errors import StudySpecError
from search.study.spec import dump_spec, load_study_spec, parse_study_spec
from tests.search_tests.helpers import tiny_study

ROOT = Path(__file__).parents[3]
LITES = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
STUDIES = sorted([*ROOT.glob("studies/*.yaml"), *ROOT.glob("benchmarks/studies/*.yaml")])


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_every_study_file_loads(path: Path) -> None:
    spec = load_study_spec(path)
    assert spec.space and spec.search.trials >= 1
    assert parse_study_spec(yaml.safe_load(dump_spec(spec))) == spec  # resolved spec round-trips


def test_quickstart_is_offline_and_cpu_sized() -> None:
    spec = load_study_spec(Path(__file__).parents[3] / "studies" / "quickstart.yaml")
    assert spec.data.source == "digits" and spec.model.weights == "imagenet"
    assert spec.search.trials >= 12 and spec.resources.gpus_per_trial == 0


def test_design_doc_example_loads() -> None:
    """The study file exactly as DESIGN.md shows it."""
    text = """
name: digits-quickstart
data:
  source: digits
  image_size: 64
  val_fraction: 0.2
  test_fraction: 0.2
  seed: 0
model:
  backbone: efficientnet_lite0
  weights: imagenet
space:
  lr:         {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  batch_size: {type: categorical, choices: [16, 32, 64]}
  dropout:    {type: float, low: 0.0, high: 0.5}
  epochs:     {type: int, low: 2, high: 6}
fixed:
  optimizer: adamw
search:
  metric: val_loss
  mode: min
  sampler: tpe
  pruner: median
  trials: 12
  concurrency: 2
  seed: 0
resources:
  cpus_per_trial: 1
  gpus_per_trial: 0
storage: null
ray:
  address: null
"""
    spec = parse_study_spec(yaml.safe_load(text))
    assert spec.search.sampler.type == "tpe" and spec.search.pruner.type == "median"
    assert spec.base_config()["optimizer"] == "adamw"


def test_the_backbone_can_be_searched_and_the_spec_dumps_and_loads_again() -> None:
    raw = tiny_study(space={"backbone": {"type": "categorical", "choices": LITES}})
    del raw["model"]["backbone"]  # named once: in space
    spec = parse_study_spec(raw)
    assert spec.backbones == LITES
    assert spec.train_config({"backbone": "efficientnet_lite2"}).backbone == "efficientnet_lite2"
    assert parse_study_spec(yaml.safe_load(dump_spec(spec))) == spec
    ranged = {**raw, "space": {"backbone": {"type": "int", "low": 0, "high": 2}}}
    with pytest.raises(StudySpecError, match=r"space\.backbone must be type: categorical"):
        parse_study_spec(ranged)


def test_yaml_floats_without_a_dot_are_floats(write_study) -> None:
    path = write_study(yaml.safe_dump(tiny_study()).replace("0.0001", "1e-4"))
    assert "1e-4" in path.read_text()
    assert load_study_spec(path).space["lr"].low == 1e-4


def test_pruner_and_sampler_take_a_name_or_a_mapping() -> None:
    spec = parse_study_spec(
        tiny_study(search={"pruner": {"type": "percentile", "percentile": 40}, "sampler": "random"})
    )
    assert spec.search.pruner.percentile == 40 and spec.search.sampler.type == "random"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"serch": {}}, "unknown key serch; did you mean search?"),
        ({"search": {"samplr": "tpe"}}, "unknown key search.samplr; did you mean sampler?"),
        (
            {"search": {"sampler": "tpe2"}},
            "search.sampler.type must be one of 'cmaes', 'gp', 'qmc', 'random', 'tpe', got 'tpe2'",
        ),
        (
            {"search": {"pruner": "medain"}},
            "search.pruner.type must be one of 'hyperband', 'median', 'none'",
        ),
        ({"search": {"trials": 0}}, "search.trials must be greater than or equal to 1, got 0"),
        (
            {"search": {"constraints": {"latency": 4}}},
            "unknown key search.constraints.latency; did you mean latency_ms?",
        ),
        (
            {"search": {"constraints": {"params_m": 0}}},
            "search.constraints.params_m must be greater than 0, got 0",
        ),
        (
            {"search": {"metric": "val_accuracy", "mode": "min"}},
            "search.mode must be max for val_accuracy, got min",
        ),
        ({"data": {"source": "csv"}}, "data.source must be one of 'digits', 'imagefolder'"),
        ({"data": {"source": "imagefolder"}}, "data.root is required"),
        ({"data": {"sampels": 40}}, "unknown key data.sampels; did you mean samples?"),
        (
            {"space": {"lr": {"type": "float", "low": 0.1, "high": 0.01}}},
            "space.lr.low must be < high, got low=0.1, high=0.01",
        ),
        (
            {"space": {"lr": {"type": "float", "low": 0.0, "high": 0.1, "log": True}}},
            "space.lr.log needs low > 0, got low=0.0",
        ),
        ({"space": {"lr": {"type": "float", "low": 0.1, "high": 0.1}}}, "low must be < high"),
        (
            {"space": {"batch_size": {"type": "categorical", "choices": []}}},
            "space.batch_size.choices must have at least 1 item, got []",
        ),
        (
            {"space": {"batch_size": {"type": "float", "low": 8, "high": 64}}},
            "space.batch_size is a whole number: use type: int or categorical",
        ),
        (
            {"space": {"optimizer": {"type": "categorical", "choices": ["adam", "sgd"]}}},
            "space.optimizer can take 'adam', but optimizer must be one of 'adamw', 'sgd'",
        ),
        (
            {"space": {"learning_rate": {"type": "float", "low": 0.1, "high": 1.0}}},
            "space.learning_rate is not a training setting",
        ),
        ({"space": {"lr": 0.01}}, "space.lr must be a mapping like {type: float"),
        (
            {"space": {"lr": {"low": 0.001, "high": 0.1}}},
            "space.lr.type is required: one of 'float', 'int', 'categorical'",
        ),
        (
            {"space": {"backbone": {"type": "categorical", "choices": ["resnet18"]}}},
            "model.backbone efficientnet_lite0 and space.backbone both name the backbone; drop "
            "model.backbone to search it",
        ),
        (
            {"fixed": {"backbone": "resnet18"}},
            "fixed.backbone: set backbone in the model: section (or search backbone in space:)",
        ),
        (
            {"space": {"weights": {"type": "categorical", "choices": ["none", "imagenet"]}}},
            "space.weights: set weights in the model: section",
        ),
        ({"fixed": {"lr": 0.1}}, "lr is in both space and fixed"),
        ({"fixed": {"dropout": 1.5}}, "fixed.dropout must be less than 1, got 1.5"),
        ({"resources": {"gpus_per_trial": 1.5}}, "resources.gpus_per_trial must be a fraction"),
        ({"name": "a b"}, "name must be letters, digits"),
        ({"fixed": {"augment": "heavy"}}, "'none', 'light', 'standard', 'strong'"),
    ],
)
def test_bad_study_names_field_value_and_fix(change: dict, message: str) -> None:
    with pytest.raises(StudySpecError) as exc:
        parse_study_spec(tiny_study(**change), source="s.yaml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("s.yaml: ")
    assert "\n" not in str(exc.value)


def test_malformed_yaml_gives_the_line(write_study) -> None:
    path = write_study("name: x\nsearch:\n  trials: [1, 2\n  sampler: tpe\n")
    with pytest.raises(StudySpecError, match=r"line \d+, column \d+: not valid YAML"):
        load_study_spec(path)


def test_missing_study_file(tmp_path: Path) -> None:
    with pytest.raises(StudySpecError, match=r"study file .*nope.yaml does not exist"):
        load_study_spec(tmp_path / "nope.yaml")


def test_study_that_is_not_a_mapping(write_study) -> None:
    with pytest.raises(StudySpecError, match="a study file is a mapping"):
        load_study_spec(write_study("- just\n- a list\n"))


def test_augment_true_and_false_still_mean_on_and_off() -> None:
    on = parse_study_spec(tiny_study(fixed={"augment": True})).train_config()
    off = parse_study_spec(tiny_study(fixed={"augment": False})).train_config()
    assert (on.augment, off.augment) == ("standard", "none")


@pytest.mark.parametrize(
    ("select", "expected"),
    [
        (None, ("best", None, None)),
        ("best", ("best", None, None)),
        ("race", ("race", 3, 2)),
        ({"top_k": 4, "repeats": 1}, ("race", 4, 1)),
        ({"type": "race", "top_k": 2}, ("race", 2, 2)),
    ],
)
def test_select_is_best_a_race_or_the_race_settings_alone(select, expected) -> None:
    search = {"select": select} if select is not None else {}
    chosen = parse_study_spec(tiny_study(search=search)).search.select
    top_k, repeats = getattr(chosen, "top_k", None), getattr(chosen, "repeats", None)
    assert (chosen.type, top_k, repeats) == expected


@pytest.mark.parametrize(
    ("select", "message"),
    [
        (
            {"type": "best", "repeats": 3},
            r"search\.select\.repeats does nothing with select: best \(it takes no options\); "
            "drop it, or choose race",
        ),
        ({"top_k": 1}, r"search\.select\.top_k must be greater than or equal to 2, got 1"),
        ("racing", r"search\.select\.type must be one of 'best', 'race', got 'racing'"),
    ],
)
def test_select_mistakes_are_one_line_naming_the_field(select, message) -> None:
    with pytest.raises(StudySpecError, match=message):
        parse_study_spec(tiny_study(search={"select": select}))


@pytest.mark.parametrize(
    ("search", "message"),
    [
        (
            {"pruner": {"type": "successive_halving", "startup_trials": 5}},
            "search.pruner.startup_trials does nothing with pruner: successive_halving (it "
            "reads warmup_epochs, reduction_factor); drop it, or choose median or percentile",
        ),
        (
            {"pruner": {"type": "median", "percentile": 10}},
            "search.pruner.percentile does nothing with pruner: median",
        ),
        (
            {"pruner": {"type": "percentile", "reduction_factor": 2}},
            "choose hyperband or successive_halving",
        ),
        (
            {"pruner": {"type": "none", "warmup_epochs": 1}},
            "search.pruner.warmup_epochs does nothing with pruner: none (it takes no options)",
        ),
        (
            {"sampler": {"type": "random", "startup_trials": 4}},
            "search.sampler.startup_trials does nothing with sampler: random",
        ),
    ],
)
def test_an_option_the_chosen_sampler_or_pruner_ignores_is_refused(search, message) -> None:
    with pytest.raises(StudySpecError) as error:
        parse_study_spec(tiny_study(search=search))
    assert message in str(error.value)


def test_a_saved_study_with_every_option_at_its_default_still_loads() -> None:
    """What earlier runs wrote to their run directory: all options, at their defaults."""
    raw = tiny_study(
        search={
            "pruner": {
                "type": "successive_halving",
                "startup_trials": 3,
                "warmup_epochs": 0,
                "percentile": 25.0,
                "reduction_factor": 3,
            },
            "sampler": {"type": "random", "startup_trials": None},
        }
    )
    assert parse_study_spec(raw).search.pruner.type == "successive_halving"


def test_a_key_given_twice_is_named_not_dropped(tmp_path) -> None:
    """PyYAML keeps the second `search:` and drops the first without a word."""
    path = tmp_path / "study.yaml"
    path.write_text("name: x\nsearch:\n  trials: 3\nspace: {}\nsearch:\n  trials: 5\n")
    with pytest.raises(StudySpecError) as error:
        load_study_spec(path)
    assert str(error.value) == (
        f"{path} line 5, column 1: not valid YAML: search is given twice (first on line 2); "
        "keep one"
    )
