"""Population-based training: perturbations stay in the space, a population learns a schedule
that no fixed learning rate matches, lineage and schedule are recorded and replayable, a
stopped population resumes, and misuse is one clear error.

Real studies: the local executor's worker processes, SQLite beside its artifact folder.
"""

from __future__ import annotations

import random
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

import archtune
import pbt_objectives as pbt
from archtune import ConfigError, Fixed, Float, ObjectiveError
from archtune.search._lineage import best_member, member_schedule, schedule_recipe
from archtune.search._pbt import explore
from archtune.space import Choice, Int, Space

pytestmark = pytest.mark.integration

SPACE = Space({"lr": Float(1e-3, 1.0, log=True), "epochs": Fixed(12)})
PBT = {"name": "pbt", "interval": 2, "max_steps": 12}
BEST_FIXED_RATE = 6.0  # no constant lr gains more than 12 - 6 (see pbt.schedule_matters)


def _members(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]


# -- explore --------------------------------------------------------------------------------
def test_explore_never_leaves_the_space_and_repairs_conditions() -> None:
    space = Space(
        {
            "lr": Float(1e-4, 1.0, log=True),
            "dropout": Float(0.0, 0.5, step=0.05),
            "layers": Int(1, 4),
            "width": Int(8, 512, log=True),
            "optimizer": Choice(["sgd", "momentum", "adam"]),
            "momentum": Float(0.5, 0.99, when={"optimizer": "momentum"}),
            "epochs": Fixed(10),
        }
    )
    rng = random.Random(0)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names = [n for n in space if n != "epochs"]
    moved = 0
    for rule in ("perturb", "resample"):
        for _ in range(300):
            config = space.sample(study.ask())
            new = explore(config, space, names, rng, rule=rule)  # type: ignore[arg-type]
            space.check_config(new)  # raises outside the space
            moved += new != config
    assert moved > 550  # it does move


def test_a_small_integer_always_moves() -> None:
    space = Space({"layers": Int(1, 4)})
    rng = random.Random(1)
    values = {
        explore({"layers": 2}, space, ["layers"], rng, resample_probability=0.0)["layers"]
        for _ in range(50)
    }
    assert values == {1, 3}


# -- a population ---------------------------------------------------------------------------
def test_a_population_learns_a_schedule_that_no_fixed_rate_matches() -> None:
    result = archtune.tune(
        pbt.schedule_matters,
        SPACE,
        objectives={"score": "max"},
        n_trials=8,
        n_workers=2,
        scheduler=PBT,
        storage="sqlite:///p.db",
        study_name="pbt",
        seed=0,
    )
    # Eight members, each paused at epochs 2, 4, ..., 10: rounds are synchronous.
    assert result.counts == {"complete": 8, "paused": 40}
    study = result.study
    members = _members(study)
    assert max(t.values[0] for t in members) > BEST_FIXED_RATE  # type: ignore[index]
    for trial in study.trials:
        SPACE.check_config(trial.params | {"epochs": 12})
    for member in members:  # one curve per member, each epoch once
        steps = [row["step"] for row in member.user_attrs["archtune.curve"]]
        assert steps == list(range(1, 13))
    exploits = [t for t in study.trials if "archtune.pbt.parent" in t.user_attrs]
    assert exploits
    for segment in exploits:  # a copy starts where its parent paused, with its curve
        parent = segment.user_attrs["archtune.pbt.parent"]
        start = segment.user_attrs["archtune.pbt.start"]
        paused = next(
            t
            for t in study.trials
            if archtune.search._attrs.lineage(t)[0] == parent
            and t.user_attrs.get("archtune.pbt.paused_at") == start
        )
        inherited = segment.user_attrs["archtune.curve"][:start]
        assert inherited == paused.user_attrs["archtune.curve"]
    best = best_member(study.trials, "max")
    assert best is not None
    schedule = member_schedule(study.trials, best)
    assert [s.epoch for s in schedule] == [0, 2, 4, 6, 8, 10]
    assert len({s.config["lr"] for s in schedule}) >= 2  # the rate changed along the way
    recipe = schedule_recipe(schedule, ["lr"])
    assert recipe["schedule"] == "piecewise"
    assert recipe["piecewise"][0] == {"epoch": 0, "lr": schedule[0].config["lr"]}


def test_show_prints_the_best_members_schedule() -> None:
    archtune.tune(
        pbt.schedule_matters,
        SPACE,
        objectives={"score": "max"},
        n_trials=4,
        n_workers=2,
        scheduler={"name": "pbt", "interval": 4, "max_steps": 12},
        storage="sqlite:///p.db",
        study_name="shown",
        seed=0,
    )
    from archtune.cli._app import app

    out = CliRunner().invoke(app, ["show", "shown", "--storage", "sqlite:///p.db"])
    assert out.exit_code == 0, out.output
    assert "4 complete, 8 paused" in out.output
    assert "schedule of the best member" in out.output
    assert "from epoch" in out.output


def test_a_stopped_population_resumes_from_its_checkpoints() -> None:
    space = Space({"lr": Float(1e-3, 1.0, log=True), "epochs": Fixed(12), "delay": Fixed(0.05)})
    common = {
        "objectives": {"score": "max"},
        "n_trials": 4,
        "n_workers": 2,
        "scheduler": {"name": "pbt", "interval": 3, "max_steps": 12},
        "storage": "sqlite:///p.db",
        "study_name": "again",
        "seed": 0,
    }
    first = archtune.tune(pbt.schedule_matters, space, timeout=1.5, **common)  # type: ignore[arg-type]
    assert first.counts.get("complete", 0) < 4  # it was cut short
    result = archtune.tune(pbt.schedule_matters, space, resume=True, **common)  # type: ignore[arg-type]
    assert result.counts["complete"] == 4
    for member in _members(result.study):
        steps = [row["step"] for row in member.user_attrs["archtune.curve"]]
        assert steps == list(range(1, 13))
        score = member.user_attrs["archtune.curve"][-1]["score"]
        assert member.values == [pytest.approx(score)]


# -- misuse ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("objective", "message"),
    [
        (pbt.starts_over, r"paused without a checkpoint.*reporter.checkpoint\(state\)"),
        (pbt.never_restores, r"starts over.*reporter.restore\(\)"),
    ],
)
def test_an_objective_that_cannot_go_on_is_refused_with_the_fix(
    objective: object, message: str
) -> None:
    with pytest.raises(ObjectiveError, match=message):
        archtune.tune(
            objective,  # type: ignore[arg-type]
            SPACE,
            objectives={"score": "max"},
            n_trials=2,
            scheduler=PBT,
            storage="sqlite:///p.db",
            seed=0,
        )


def test_a_population_needs_a_store_for_its_checkpoints() -> None:
    with pytest.raises(ConfigError, match="scheduler pbt continues each member"):
        archtune.tune(
            pbt.schedule_matters, SPACE, objectives={"score": "max"}, n_trials=2, scheduler=PBT
        )


@pytest.mark.parametrize(
    ("scheduler", "message"),
    [
        ({"name": "pbt", "perturb": ["width"]}, r"scheduler.perturb names 'width'.*allowed: lr"),
        ({"name": "asha", "population": 4}, r"scheduler.population applies to scheduler pbt"),
        ({"name": "pbt", "population": 1}, r"scheduler.population"),
    ],
)
def test_bad_population_settings_are_one_line(scheduler: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        archtune.tune(
            pbt.schedule_matters,
            SPACE,
            objectives={"score": "max"},
            n_trials=2,
            scheduler=scheduler,
            storage="sqlite:///p.db",
        )


def test_a_population_without_a_known_length_is_refused() -> None:
    with pytest.raises(ConfigError, match="scheduler pbt needs the length of a training"):
        archtune.tune(
            pbt.schedule_matters,
            SPACE,
            objectives={"score": "max"},
            n_trials=2,
            scheduler={"name": "pbt"},
            storage="sqlite:///p.db",
        )


def test_the_artifact_store_copies_a_lineage(tmp_path: Path) -> None:
    from archtune.execution._artifacts import ArtifactStore

    store = ArtifactStore(tmp_path)
    store.save_checkpoint(3, {"w": 1}, reports=[(1, {"a": 0.5})])
    store.save_checkpoint(5, {"w": 2}, reports=[(1, {"a": 0.1})])
    assert store.copy_lineage(3, 5) == [(1, {"a": 0.5})]
    assert store.load_checkpoint(5) == {"w": 1}
    assert store.load_reports(5) == [(1, {"a": 0.5})]
    with pytest.raises(FileNotFoundError):
        store.copy_lineage(9, 5)


# -- built-in training ----------------------------------------------------------------------
def test_builtin_training_exploits_with_new_values_and_its_schedule_replays() -> None:
    pytest.importorskip("torch")
    recipe = {
        "space": "none",
        "optimizer": "momentum",
        "epochs": 6,
        "lr": {"type": "float", "low": 0.001, "high": 0.5, "log": True},
        "momentum": {"type": "float", "low": 0.5, "high": 0.99},
    }
    result = archtune.tune(
        data="digits",
        model={"family": "mlp", "space": "none"},
        recipe=recipe,
        n_trials=4,
        n_workers=2,
        scheduler={"name": "pbt", "interval": 2},
        storage="sqlite:///b.db",
        study_name="builtin",
        seed=0,
    )
    assert result.counts == {"complete": 4, "paused": 8}
    study = result.study
    for segment in study.trials:  # each epoch trains with its segment's learning rate
        start = segment.user_attrs["archtune.pbt.start"]
        for row in segment.user_attrs["archtune.curve"][start:]:
            assert row["lr"] == pytest.approx(segment.params["lr"])
    from archtune.cli._app import app

    out = CliRunner().invoke(app, ["show", "builtin", "--storage", "sqlite:///b.db"])
    assert out.exit_code == 0, out.output
    block = out.output.split("the recipe that replays it", 1)[1].split("\n", 1)[1]
    import yaml

    replay = yaml.safe_load(block)["recipe"]
    assert replay["schedule"] == "piecewise"
    again = archtune.tune(
        data="digits",
        model={"family": "mlp", "space": "none"},
        recipe=replay,
        n_trials=1,
        storage="sqlite:///b.db",
        study_name="replay",
        seed=0,
    )
    (trial,) = again.study.trials
    points = replay["piecewise"]
    for row in trial.user_attrs["archtune.curve"]:
        point = [p for p in points if p["epoch"] < row["step"]][-1]
        assert row["lr"] == pytest.approx(point["lr"])
