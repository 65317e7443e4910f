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

TRIALS, EPOCHS, WORKERS = 4, 1, 2


def _run_onnx(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(size=(3, *shape)).astype(np.float32)
    (logits,) = session.run(None, {session.get_inputs()[0].name: x})
    return np.asarray(logits)


def _check_choice(result: ShrinkResult) -> None:
    floor = result.baseline.test_accuracy - result.max_drop
    fits = [c for c in result.rows() if c.test_accuracy >= floor - 1e-12]
    assert result.chosen in fits
    assert result.chosen.params == min(c.params for c in fits)


def test_shrink_end_to_end(tmp_path: Path) -> None:
    target = tmp_path / "out" / "small.onnx"
    result = shrink(
        "cnn-16-32-32",
        "mnist-sample",
        max_samples=600,
        max_drop=0.02,
        output=target,
        trials=TRIALS,
        epochs=EPOCHS,
        workers=WORKERS,
    )
    assert result.baseline.params == 23_626
    assert result.baseline.label == "baseline"
    assert 0.0 < result.baseline.test_accuracy <= 1.0
    assert result.pareto
    assert all(c.trial is not None for c in result.pareto)
    assert [c.params for c in result.pareto] == sorted(c.params for c in result.pareto)
    assert result.baseline_best_recipe is not None
    assert result.baseline_best_recipe.params == result.baseline.params
    assert sum(result.counts.values()) == 4
    _check_choice(result)
    assert result.exported == target
    logits = _run_onnx(target, (28, 28, 1))
    assert logits.shape == (3, 10)
    assert np.isfinite(logits).all()
    document = json.loads(result.to_json())
    assert document["chosen"]["params"] == result.chosen.params


def test_shrink_command_json_from_given_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PyTorch ``module:function`` brings its weights: the baseline is evaluated, not trained."""
    from archtune.data import load_dataset

    sample = load_dataset("mnist-sample", max_samples=500, standardize=False, seed=0)
    x = np.concatenate([sample.x_train, sample.x_val, sample.x_test])
    y = np.concatenate([sample.y_train, sample.y_val, sample.y_test])
    np.savez(tmp_path / "digits500.npz", x=x, y=y)
    (tmp_path / "tinynet.py").write_text(
        textwrap.dedent(
            """
            import torch
            from torch import nn

            def build():
                torch.manual_seed(0)
                return nn.Sequential(
                    nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3),
                    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 5 * 5, 10),
                )
            """
        )
    )
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
        trials=TRIALS,
        epochs=EPOCHS,
        workers=WORKERS,
    )
    document = json.loads(capsys.readouterr().out)
    for key in ("baseline", "chosen"):
        entry = document[key]
        for field in ("params", "flops", "latency_ms", "test_accuracy", "structure", "recipe"):
            assert field in entry, (key, field)
    assert document["baseline"]["train_time_s"] == 0.0  # given weights: only evaluated
    assert document["baseline"]["params"] == 8 * 9 + 8 + 8 * 8 * 9 + 8 + 200 * 10 + 10
    assert isinstance(document["pareto"], list)
    assert document["pareto"]
    floor = document["baseline"]["test_accuracy"] - 0.05
    rows = [document["baseline"], document["baseline_best_recipe"], *document["pareto"]]
    fits = [r for r in rows if r["test_accuracy"] >= floor - 1e-12]
    assert document["chosen"]["flops"] == min(r["flops"] for r in fits)
    assert document["exported"] == str(target)
    assert _run_onnx(target, (28, 28, 1)).shape == (3, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective": "energy"}, "objective must be one of params, flops, latency"),
        ({"max_drop": -0.1}, "max_drop must be in"),
        ({"init": "warm"}, "init must be search, pretrained or scratch"),
        ({"trials": 0}, "trials must be >= 1"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        shrink("cnn-16-32-32", "mnist-sample", **kwargs)  # type: ignore[arg-type]


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
        config={"shrink.init": "pretrained"},
    )


def test_choice_falls_back_to_the_baseline_and_the_table_marks_it() -> None:
    from rich.console import Console

    from archtune.cli._shrink_cmd import pareto_table
    from archtune.shrinking._run import _choose

    baseline = _row("baseline", 1000, 0.90)
    pareto = (_row("trial 3", 100, 0.80), _row("trial 5", 400, 0.893))
    assert _choose(baseline, None, pareto, "params", 0.005) is baseline
    assert _choose(baseline, None, pareto, "params", 0.005 + 0.003) is pareto[1]
    assert _choose(baseline, None, pareto, "flops", 0.2) is pareto[0]
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
    console = Console(width=200, record=True)
    console.print(pareto_table(result))
    lines = [line for line in console.export_text().splitlines() if "trial" in line]
    assert "★" in lines[1]
    assert "★" not in lines[0]
    assert "2.5x" in lines[1]
    assert "-0.70 pt" in lines[1]


def test_archtune_shrink_is_the_function() -> None:
    import archtune
    import archtune.shrinking

    assert archtune.shrink is archtune.shrinking.shrink
    assert archtune.ShrinkResult is archtune.shrinking.ShrinkResult
    with pytest.raises(ConfigError, match="objective must be one of"):
        archtune.shrink("cnn-16-32-32", "mnist-sample", objective="energy")
