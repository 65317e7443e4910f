"""``archtune.shrink`` end to end on a tiny budget, and ``archtune shrink --json``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from archtune import ConfigError  # noqa: E402
from archtune.cli._shrink_cmd import shrink_command  # noqa: E402
from archtune.shrinking import Candidate, ShrinkResult, shrink  # noqa: E402

EPOCHS, BUDGET, WORKERS, SAMPLES = 1, 30, 2, 1500


def _run_onnx(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(3, *shape)).astype(np.float32)
    (logits,) = session.run(None, {session.get_inputs()[0].name: x})
    return np.asarray(logits)


def _check_choice(result: ShrinkResult) -> None:
    """The chosen model: the cheapest offered one within max_drop on validation."""
    floor = result.baseline.val_accuracy - result.max_drop
    fits = [c for c in result.rows() if c.val_accuracy >= floor - 1e-12]
    assert result.chosen in fits
    assert result.chosen.params == min(c.params for c in fits)


@pytest.fixture(scope="module")
def small_shrink(tmp_path_factory: pytest.TempPathFactory) -> tuple[ShrinkResult, Path]:
    tmp = tmp_path_factory.mktemp("shrink")
    result = shrink(
        "cnn-16-32-32",
        "mnist-sample",
        max_samples=SAMPLES,
        max_drop=0.02,
        output=tmp / "out" / "small.onnx",
        epochs=EPOCHS,
        budget=BUDGET,
        n_workers=WORKERS,
        storage=f"sqlite:///{tmp / 's.db'}",
        models_dir=tmp / "models",
    )
    return result, tmp


def test_shrink_end_to_end(small_shrink: tuple[ShrinkResult, Path]) -> None:
    result, tmp = small_shrink
    assert result.baseline.params == 23_626
    assert result.baseline.label == "baseline"
    assert result.strategy == "progressive"
    assert 0.0 < result.baseline.test_accuracy <= 1.0
    assert result.pareto
    assert all(c.trial is not None for c in result.pareto)
    assert all(c.params < result.baseline.params for c in result.pareto)
    assert [c.params for c in result.pareto] == sorted(c.params for c in result.pareto)
    assert result.baseline_best_recipe is None
    _check_choice(result)
    for row in result.rows():
        low, high = row.test_interval
        assert low <= row.test_accuracy <= high
        change, change_low, change_high = row.change_interval
        assert change == pytest.approx(row.test_accuracy - result.baseline.test_accuracy)
        assert change_low <= change <= change_high
    assert result.epochs_spent <= result.budget_epochs + 1e-9
    assert result.budget_epochs == BUDGET * EPOCHS
    assert result.preprocessing == "standardized"
    assert result.exported == tmp / "out" / "small.onnx"
    logits = _run_onnx(result.exported, (28, 28, 1))
    assert logits.shape == (3, 10)
    assert np.isfinite(logits).all()
    document = json.loads(result.to_json())
    assert document["chosen"]["params"] == result.chosen.params
    assert document["verdict"] == result.verdict
    assert document["budget"]["epochs_spent"] == pytest.approx(result.epochs_spent)


def test_the_study_records_every_model_and_the_result(
    small_shrink: tuple[ShrinkResult, Path],
) -> None:
    import optuna

    result, tmp = small_shrink
    study = optuna.load_study(study_name=result.study_name, storage=f"sqlite:///{tmp / 's.db'}")
    stages = [t.user_attrs.get("archtune.shrink.stage") for t in study.trials]
    assert stages[0] == "baseline"
    assert "search" in stages
    assert "finetune" in stages
    stored = study.user_attrs["archtune.shrink.result"]
    assert stored["chosen"]["label"] == result.chosen.label
    assert stored["chosen"]["trial"] == result.chosen.trial
    trained = sum(
        float(t.user_attrs.get("archtune.metrics", {}).get("epochs", 0)) for t in study.trials
    )
    assert trained == pytest.approx(result.epochs_spent)


def test_resume_reuses_every_recorded_model(small_shrink: tuple[ShrinkResult, Path]) -> None:
    """Resuming a finished shrink trains nothing again and reaches the same choice."""
    result, tmp = small_shrink
    again = shrink(
        "cnn-16-32-32",
        "mnist-sample",
        max_samples=SAMPLES,
        max_drop=0.02,
        output=tmp / "out" / "again.onnx",
        epochs=EPOCHS,
        budget=BUDGET,
        n_workers=WORKERS,
        storage=f"sqlite:///{tmp / 's.db'}",
        models_dir=tmp / "models",
        resume=True,
    )
    assert again.chosen.label == result.chosen.label
    assert again.chosen.params == result.chosen.params
    assert again.counts == result.counts  # no trial was added


def test_shrink_command_json_from_given_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PyTorch ``module:function`` brings its weights (trained by its user, loaded by the
    function): the baseline is evaluated, not trained, on the data as given (no
    standardisation unless asked)."""
    import importlib
    import sys

    import torch

    from archtune.data import load_dataset

    sample = load_dataset("mnist-sample", max_samples=500, standardize=False, seed=0)
    x = np.concatenate([sample.x_train, sample.x_val, sample.x_test])
    y = np.concatenate([sample.y_train, sample.y_val, sample.y_test])
    np.savez(tmp_path / "digits500.npz", x=x, y=y)
    (tmp_path / "tinynet.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path

            import torch
            from torch import nn

            def make():
                torch.manual_seed(0)
                return nn.Sequential(
                    nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 5 * 5, 10),
                )

            def build():
                net = make()
                net.load_state_dict(torch.load(Path(__file__).with_name("tinynet.pt")))
                return net
            """
        )
    )
    sys.path.insert(0, str(tmp_path))
    try:
        net = importlib.import_module("tinynet").make()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("tinynet", None)
    inputs = torch.tensor(sample.x_train).permute(0, 3, 1, 2)  # the user's own layout
    labels = torch.tensor(sample.y_train)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(40):  # the user's training, full batch
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(inputs), labels).backward()
        optimizer.step()
    torch.save(net.state_dict(), tmp_path / "tinynet.pt")
    target = tmp_path / "chosen.onnx"
    shrink_command(
        "tinynet:build",
        str(tmp_path / "digits500.npz"),
        max_drop=0.05,
        objective="flops",
        storage=None,
        json_output=True,
        output=target,
        quiet=True,
        epochs=EPOCHS,
        budget=30,  # 300 training images stretch a search step to about 27 epochs
        finetune_epochs=1,
        n_workers=WORKERS,
    )
    document = json.loads(capsys.readouterr().out)
    for key in ("baseline", "chosen"):
        entry = document[key]
        for field in ("params", "flops", "latency_ms", "test_accuracy", "structure", "recipe"):
            assert field in entry, (key, field)
    assert document["baseline"]["train_time_s"] == 0.0  # given weights: only evaluated
    assert document["preprocessing"] == "as given"
    assert document["baseline"]["params"] == 8 * 9 + 8 + 8 * 8 * 9 + 8 + 200 * 10 + 10
    assert document["pareto"]  # the search tried smaller networks
    floor = document["baseline"]["val_accuracy"] - 0.05
    rows = [document["baseline"], *document["pareto"]]
    fits = [r for r in rows if r["val_accuracy"] >= floor - 1e-12]
    assert document["chosen"]["flops"] == min(r["flops"] for r in fits)
    assert document["exported"] == str(target)
    assert _run_onnx(target, (28, 28, 1)).shape == (3, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective": "energy"}, "objective must be one of params, flops, latency"),
        ({"max_drop": -0.1}, "max_drop must be in"),
        ({"budget": 0}, "budget must be > 0"),
        ({"strategy": "greedy"}, "strategy must be one of progressive, sampler"),
        ({"distill": {"temperature": 0}}, "distill.temperature must be > 0"),
        ({"distill": {"beta": 1}}, "distill takes temperature and alpha"),
        ({"target": 0.5}, "target must be a reduction > 1"),
        ({"budget": 2, "epochs": 1}, "budget of 2 baseline trainings"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        shrink("cnn-16-32-32", "mnist-sample", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new"), [("workers", "n_workers"), ("trials", "n_trials")])
def test_the_old_count_names_still_work_with_a_deprecation_warning(old: str, new: str) -> None:
    # Reaching the argument checks shows the old name's value was taken as the new one's.
    with (
        pytest.warns(DeprecationWarning, match=f"{old}= is deprecated; use {new}="),
        pytest.raises(ConfigError, match=f"{new} must be >= 1, got 0"),
    ):
        shrink("cnn-16-32-32", "mnist-sample", strategy="sampler", **{old: 0})  # type: ignore[arg-type]


def test_model_that_does_not_fit_the_data() -> None:
    with pytest.raises(ConfigError, match="takes inputs of shape \\(10,\\)"):
        shrink("mlp-32-32", "mnist-sample", max_samples=100)


def _row(label: str, params: int, accuracy: float) -> Candidate:
    return Candidate(
        label=label,
        trial=None if label.startswith("baseline") else 1,
        params=params,
        flops=2 * params,
        latency_ms=0.1,
        val_accuracy=accuracy,
        test_accuracy=accuracy,
        train_time_s=1.0,
        structure="dense 4 > head 2",
        recipe={},
        test_interval=(accuracy - 0.01, accuracy + 0.01),
        change_interval=(accuracy - 0.90, accuracy - 0.91, accuracy - 0.89),
    )


def test_choice_on_validation_and_the_table_marks_it() -> None:
    from rich.console import Console

    from archtune.cli._shrink_cmd import pareto_table
    from archtune.shrinking import choose

    baseline = _row("baseline", 1000, 0.90)
    pareto = (_row("trial 3", 100, 0.80), _row("trial 5", 400, 0.893))
    costs = [c.params for c in pareto]
    accuracies = [c.val_accuracy for c in pareto]
    assert choose(costs, accuracies, 0.90, 0.005) is None  # the baseline stays
    assert choose(costs, accuracies, 0.90, 0.005 + 0.003) == 1
    assert choose(costs, accuracies, 0.90, 0.2) == 0
    result = ShrinkResult(
        baseline=baseline,
        pareto=pareto,
        chosen=pareto[1],
        baseline_best_recipe=None,
        objective="params",
        max_drop=0.008,
        exported=None,
        study_name="s",
        storage=None,
        wall_time_s=1.0,
    )
    console = Console(width=250, record=True)
    console.print(pareto_table(result))
    lines = [line for line in console.export_text().splitlines() if "trial" in line]
    assert "★" in lines[1]
    assert "★" not in lines[0]
    assert "2.5x" in lines[1]
    assert "-0.70 pt" in lines[1]


def test_intervals() -> None:
    from archtune.shrinking import paired_change, wilson_interval

    low, high = wilson_interval(970, 1000)
    assert low < 0.97 < high
    assert high - low == pytest.approx(0.021, abs=0.002)  # about +-1 point at 97 %
    assert all(np.isnan(wilson_interval(0, 0)))  # no rows: no interval
    same = np.array([True, False, True, True])
    assert paired_change(same, same) == (0.0, 0.0, 0.0)
    better = np.array([True] * 990 + [False] * 10)
    worse = np.array([True] * 980 + [False] * 20)
    change, low, high = paired_change(better, worse)
    assert change == pytest.approx(0.01)
    assert low < change < high


def test_archtune_shrink_is_the_function() -> None:
    import archtune
    import archtune.shrinking

    assert archtune.shrink is archtune.shrinking.shrink
    assert archtune.ShrinkResult is archtune.shrinking.ShrinkResult
    with pytest.raises(ConfigError, match="objective must be one of"):
        archtune.shrink("cnn-16-32-32", "mnist-sample", objective="energy")


def test_shrink_with_the_keras_backend(tmp_path: Path) -> None:
    """Shrink goes through the backend interface: Keras builds, prunes into, trains and
    exports every model."""
    pytest.importorskip("keras")
    result = shrink(
        "cnn-16-32-32",
        "mnist-sample",
        max_samples=1500,
        max_drop=0.5,
        epochs=1,
        finetune_epochs=1,
        budget=15,
        backend="keras",
        output=tmp_path / "k.onnx",
    )
    assert result.pareto  # the search found smaller models and fine-tuned them
    assert all(c.params < result.baseline.params for c in result.pareto)
    assert result.chosen.params < result.baseline.params
    assert _run_onnx(tmp_path / "k.onnx", (28, 28, 1)).shape == (3, 10)


def test_the_sampler_strategy_with_distillation(tmp_path: Path) -> None:
    """The sampler strategy is a peer behind the same interface; distillation runs in it."""
    result = shrink(
        "cnn-16-32-32",
        "mnist-sample",
        max_samples=600,
        epochs=1,
        budget=12,
        strategy="sampler",
        n_trials=6,
        distill={"temperature": 2.0, "alpha": 0.5},
        max_drop=0.5,
        output=tmp_path / "s.onnx",
    )
    assert result.strategy == "sampler"
    assert result.counts.get("complete", 0) >= 1 + 1  # the baseline, at least one proposal
    assert result.ladder
    costs = [row["params"] for row in result.ladder]
    assert costs == sorted(costs, reverse=True)  # from the most costly to the cheapest
    assert result.epochs_spent <= result.budget_epochs + 1e-9


def test_an_existing_study_is_never_reused_or_touched_without_resume(
    small_shrink: tuple[ShrinkResult, Path],
) -> None:
    from archtune import StudyStateError

    result, tmp = small_shrink
    models = sorted((tmp / "models" / result.study_name).iterdir())
    with pytest.raises(StudyStateError, match="resume"):
        shrink(
            "cnn-16-32-32",
            "mnist-sample",
            max_samples=SAMPLES,
            epochs=EPOCHS,
            budget=BUDGET,
            storage=f"sqlite:///{tmp / 's.db'}",
            models_dir=tmp / "models",
            output=tmp / "out" / "x.onnx",
        )
    assert sorted((tmp / "models" / result.study_name).iterdir()) == models


def test_the_exported_model_takes_raw_inputs(small_shrink: tuple[ShrinkResult, Path]) -> None:
    """The ONNX file carries the standardisation: on raw test rows it gives the chosen
    model's test accuracy, and its metadata names the classes."""
    from archtune.data import load_dataset

    result, _ = small_shrink
    raw = load_dataset("mnist-sample", max_samples=SAMPLES, seed=0, standardize=False)
    session = ort.InferenceSession(str(result.exported), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: raw.x_test})
    accuracy = float((np.argmax(logits, axis=-1) == raw.y_test).mean())
    assert accuracy == pytest.approx(result.chosen.test_accuracy, abs=1e-9)
    metadata = session.get_modelmeta().custom_metadata_map
    classes = json.loads(metadata["archtune.classes"])
    assert [str(c) for c in classes] == [str(c) for c in raw.classes or ()]


def test_a_budget_that_cannot_hold_one_search_step_is_refused_before_training(
    tmp_path: Path,
) -> None:
    # wine's ~107 training rows stretch each proposal to 25 optimizer steps (about 15
    # epochs): 8 baseline trainings of 5 epochs leave room for the finalists but not one step.
    with pytest.raises(ConfigError, match=r"one search step \((\d+\.\d) epochs\)") as caught:
        shrink(
            "mlp",
            "wine",
            epochs=5,
            finetune_epochs=3,
            budget=8,
            n_workers=1,
            output=str(tmp_path / "small.onnx"),
        )
    assert "raise budget (--budget) to at least" in str(caught.value)
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_without_a_budget_a_small_table_gets_one_that_holds_three_search_steps(
    tmp_path: Path,
) -> None:
    """The defaults work on a table of a hundred rows: the budget grows, and says so."""
    from archtune.shrinking._run import DEFAULT_BUDGET, DEFAULT_SEARCH_STEPS

    lines: list[str] = []
    result = shrink(
        "mlp",
        "wine",
        epochs=5,
        finetune_epochs=3,
        n_workers=1,
        output=str(tmp_path / "small.onnx"),
        log=lines.append,
    )
    (said,) = [line for line in lines if line.startswith("budget: ")]
    assert f"({DEFAULT_SEARCH_STEPS} steps; set budget (--budget) to choose)" in said
    assert result.budget_epochs > DEFAULT_BUDGET * 5
    steps = [line for line in lines if line.startswith("step ")]
    assert len(steps) >= DEFAULT_SEARCH_STEPS  # later steps have fewer proposals
    assert result.chosen.params < result.baseline.params  # a smaller model was found
