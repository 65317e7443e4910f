"""fit: reporting, stopping, divergence, seeds, learning, full-batch GD, checkpoints, latency."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from archtune._errors import ArchtuneError, ConfigError  # noqa: E402
from archtune._reporter import Decision, NullReporter  # noqa: E402
from archtune.backends.torch._checkpoint import load_checkpoint, read_state_dict  # noqa: E402
from archtune.backends.torch._device import resolve_device  # noqa: E402
from archtune.backends.torch._evaluate import evaluate, predict  # noqa: E402
from archtune.backends.torch._init import apply_initialisation  # noqa: E402
from archtune.backends.torch._latency import measure_latency  # noqa: E402
from archtune.backends.torch._train import fit  # noqa: E402
from archtune.data import Dataset, load_dataset  # noqa: E402
from archtune.recipe import OPTIMIZERS, SCHEDULES, DivergedError, LRSchedule, Recipe  # noqa: E402

torch.set_num_threads(1)
nn = torch.nn


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)


def mlp(hidden: int = 32, dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10)
    )


class StopAt(NullReporter):
    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.stop_epoch = epoch

    def report(self, step: int, **metrics: float) -> Decision:
        super().report(step, **metrics)
        return Decision.STOP if step >= self.stop_epoch else Decision.CONTINUE


def test_small_mlp_learns_digits(digits: Dataset) -> None:
    result = fit(mlp(), digits, Recipe(lr=3e-3, epochs=5), seed=0)
    assert result.metrics["val_accuracy"] >= 0.9
    assert result.metrics["test_accuracy"] >= 0.88
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.epochs_run == 5
    assert not result.stopped_early
    assert result.n_steps == 5 * math.ceil(digits.n_train / 32)
    assert result.device == "cpu"


def test_reports_the_warm_up_while_the_rate_rises(digits: Dataset) -> None:
    """``warmup`` is 1 in the epochs after which the rate still rises (one-cycle's first 30 %,
    a warm-up), and absent otherwise, so schedulers do not judge those epochs."""
    warmups = {}
    for recipe in (
        Recipe(epochs=10, schedule="one_cycle", pct_start=0.3, lr=0.01),
        Recipe(epochs=10, schedule="constant", warmup_epochs=2, lr=0.01),
        Recipe(epochs=10, schedule="cosine", lr=0.01),
    ):
        reporter = NullReporter()
        fit(mlp(), digits, recipe, reporter=reporter, seed=0)
        warmups[recipe.schedule] = [m.get("warmup", 0.0) for _, m in reporter.history]
    assert warmups["one_cycle"] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert warmups["constant"] == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert warmups["cosine"] == [0.0] * 10


def test_reports_every_epoch_with_the_metrics(digits: Dataset) -> None:
    reporter = NullReporter()
    result = fit(mlp(), digits, Recipe(epochs=3, lr=0.01, schedule="cosine"), reporter=reporter)
    assert [step for step, _ in reporter.history] == [1, 2, 3]
    for (_, metrics), row in zip(reporter.history, result.history, strict=True):
        assert set(metrics) == {"train_loss", "val_loss", "val_accuracy", "lr"}
        assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
        assert metrics == {k: row[k] for k in metrics}
        assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert len(result.epoch_times) == 3
    assert all(t > 0 for t in result.epoch_times)
    assert set(result.metrics) == {
        "train_loss", "val_loss", "val_accuracy", "lr", "test_loss", "test_accuracy"
    }  # fmt: skip


def test_stop_decision_is_honoured(digits: Dataset) -> None:
    reporter = StopAt(2)
    result = fit(mlp(), digits, Recipe(epochs=10), reporter=reporter)
    assert result.epochs_run == 2
    assert result.stopped_early
    assert [step for step, _ in reporter.history] == [1, 2]
    assert "test_accuracy" in result.metrics


def test_should_stop_before_an_epoch_is_honoured(digits: Dataset) -> None:
    class AlreadyStopped(NullReporter):
        @property
        def should_stop(self) -> bool:
            return len(self.history) >= 1

    result = fit(mlp(), digits, Recipe(epochs=5), reporter=AlreadyStopped())
    assert result.epochs_run == 1
    assert result.stopped_early


class NaNAfter(nn.Module):
    """Returns NaN logits from the `n`-th training forward pass on."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.net = mlp()
        self.n = n
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.training:
            self.calls += 1
            if self.calls > self.n:
                return out * float("nan")
        return out


def test_nan_loss_raises_with_epoch_and_step(digits: Dataset) -> None:
    spe = math.ceil(digits.n_train / 100)
    module = NaNAfter(spe + 3)  # first bad call: epoch 2, step 3
    with pytest.raises(DivergedError, match="epoch 2, step 3") as info:
        fit(module, digits, Recipe(epochs=5, batch_size=100, lr=0.01, weight_init="keep"))
    err = info.value
    assert (err.epoch, err.step) == (2, 3)
    assert math.isnan(err.loss)
    assert err.lr == pytest.approx(0.01)
    assert isinstance(err, ArchtuneError)
    assert isinstance(err, FloatingPointError)


def test_a_huge_learning_rate_diverges_clearly(digits: Dataset) -> None:
    with pytest.raises(DivergedError, match="Lower the learning rate"):
        fit(mlp(), digits, Recipe(optimizer="sgd", lr=1e12, epochs=3))


@pytest.mark.parametrize("device_seed", [0, 7])
def test_same_seed_gives_identical_results(digits: Dataset, device_seed: int) -> None:
    recipe = Recipe(epochs=2, lr=0.01, weight_init="he_uniform", schedule="one_cycle")
    a = fit(mlp(dropout=0.3), digits, recipe, seed=device_seed)
    b = fit(mlp(dropout=0.3), digits, recipe, seed=device_seed)
    assert a.metrics == b.metrics
    assert [{k: v for k, v in h.items() if k != "epoch_time"} for h in a.history] == [
        {k: v for k, v in h.items() if k != "epoch_time"} for h in b.history
    ]
    c = fit(mlp(dropout=0.3), digits, recipe, seed=device_seed + 1)
    assert c.metrics["train_loss"] != a.metrics["train_loss"]


def test_the_seed_drives_the_batch_order(digits: Dataset) -> None:
    recipe = Recipe(epochs=1, lr=0.01, weight_init="keep")  # same weights, no dropout
    a = fit(mlp(), digits, recipe, seed=1)
    b = fit(mlp(), digits, recipe, seed=2)
    assert a.metrics["train_loss"] != b.metrics["train_loss"]


def test_default_init_makes_results_independent_of_how_the_module_was_built(
    digits: Dataset,
) -> None:
    recipe = Recipe(epochs=1)
    torch.manual_seed(1)
    m1 = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    torch.manual_seed(2)
    m2 = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    assert fit(m1, digits, recipe).metrics == fit(m2, digits, recipe).metrics


def test_fit_keeps_the_global_rng_state(digits: Dataset) -> None:
    module = mlp(dropout=0.2)
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    fit(module, digits, Recipe(epochs=1))
    assert torch.equal(torch.rand(3), expected)


def test_full_batch_gd_takes_one_exact_gradient_step_per_epoch(digits: Dataset) -> None:
    module = mlp()
    start = mlp()
    x = torch.tensor(digits.x_train)
    y = torch.tensor(digits.y_train)
    loss = nn.functional.cross_entropy(start(x), y)
    grads = torch.autograd.grad(loss, list(start.parameters()))
    result = fit(module, digits, Recipe(optimizer="gd", lr=0.5, epochs=1, weight_init="keep"))
    assert result.n_steps == 1
    assert result.metrics["train_loss"] == pytest.approx(loss.item(), rel=1e-5)
    for p, p0, g in zip(module.parameters(), start.parameters(), grads, strict=True):
        torch.testing.assert_close(p.detach(), p0.detach() - 0.5 * g)
    assert fit(mlp(), digits, Recipe(optimizer="gd", epochs=4)).n_steps == 4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_trains_and_changes_the_weights(digits: Dataset, name: str) -> None:
    module = mlp()
    recipe = Recipe(optimizer=name, lr=0.05 if name in ("gd", "sgd") else 0.005, epochs=2)
    apply_initialisation(module, recipe, seed=0)
    before = [p.detach().clone() for p in module.parameters()]
    result = fit(module, digits, recipe, seed=0)
    assert all(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))
    spe = 1 if name == "gd" else math.ceil(digits.n_train / 32)
    assert result.n_steps == 2 * spe
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_runs_and_reports_its_rate(digits: Dataset, schedule: str) -> None:
    if schedule == "piecewise":  # its points, no warm-up
        points = [{"epoch": 0, "lr": 0.01}, {"epoch": 2, "lr": 0.001}]
        recipe = Recipe(lr=0.01, epochs=3, schedule=schedule, piecewise=points)
    else:
        recipe = Recipe(lr=0.01, epochs=3, schedule=schedule, step_size=1, warmup_epochs=1)
    result = fit(mlp(), digits, recipe)
    lrs = [h["lr"] for h in result.history]
    assert len(lrs) == 3
    assert all(0 < lr <= 0.01 + 1e-12 for lr in lrs)


def test_reported_rate_follows_warmup_and_step_decay(digits: Dataset) -> None:
    recipe = Recipe(lr=0.02, epochs=4, schedule="step", step_size=1, step_gamma=0.5,
                    warmup_epochs=1, batch_size=100)  # fmt: skip
    lrs = [h["lr"] for h in fit(mlp(), digits, recipe).history]
    spe = math.ceil(digits.n_train / 100)
    # epoch 1 ends the warm-up one step before the schedule starts; then halvings per epoch
    assert lrs[0] == pytest.approx(0.02 * spe / (spe + 1))
    assert lrs[1:] == [pytest.approx(0.02), pytest.approx(0.01), pytest.approx(0.005)]


def test_train_loss_is_the_sample_weighted_smoothed_loss(digits: Dataset) -> None:
    recipe = Recipe(optimizer="sgd", lr=1e-12, epochs=1, batch_size=500, label_smoothing=0.2)
    module = mlp()
    result = fit(module, digits, recipe)
    x = torch.tensor(digits.x_train)
    y = torch.tensor(digits.y_train)
    with torch.no_grad():
        logits = module(x)
    smoothed = nn.functional.cross_entropy(logits, y, label_smoothing=0.2).item()
    plain = nn.functional.cross_entropy(logits, y).item()
    assert result.metrics["train_loss"] == pytest.approx(smoothed, rel=1e-5)
    assert result.metrics["train_loss"] != pytest.approx(plain, rel=1e-3)


def test_gradient_clipping_bounds_the_update(digits: Dataset) -> None:
    module = mlp()
    recipe = Recipe(optimizer="gd", lr=1.0, epochs=1, grad_clip_norm=1e-3, weight_init="keep")
    before = torch.cat([p.detach().flatten().clone() for p in module.parameters()])
    fit(module, digits, recipe)
    after = torch.cat([p.detach().flatten() for p in module.parameters()])
    assert (after - before).norm().item() == pytest.approx(1e-3, rel=1e-3)


# --- piecewise: each epoch's rate, momentum, weight decay and label smoothing ----------------


def _spy_on_steps(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record, before every optimizer step, what the step trains with."""
    from archtune.backends.torch import _train

    seen: list[dict[str, Any]] = []
    make = _train.make_lr_scheduler

    def spying(optimizer: Any, recipe: Recipe, **kwargs: Any) -> Any:
        criterion = kwargs["criterion"]

        def record(opt: Any, args: Any, kw: Any) -> None:
            groups = opt.param_groups
            seen.append({
                "lr": [g["lr"] for g in groups],
                "momentum": [g.get("momentum") for g in groups],
                "weight_decay": [g["weight_decay"] for g in groups],
                "decays": [all(p.ndim >= 2 for p in g["params"]) for g in groups],
                "label_smoothing": criterion.label_smoothing,
            })  # fmt: skip

        optimizer.register_step_pre_hook(record)
        return make(optimizer, recipe, **kwargs)

    monkeypatch.setattr(_train, "make_lr_scheduler", spying)
    return seen


def test_piecewise_sets_each_epochs_values_before_its_first_step(
    digits: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _spy_on_steps(monkeypatch)
    points = [
        {"epoch": 0, "lr": 0.05},  # momentum: the recipe's (sgd: 0)
        {"epoch": 1, "lr": 0.02, "momentum": 0.9, "weight_decay": 1e-3},
        {"epoch": 3, "lr": 0.01, "momentum": 0.5, "label_smoothing": 0.1},
    ]
    recipe = Recipe(optimizer="sgd", epochs=4, batch_size=400, schedule="piecewise",
                    piecewise=points)  # fmt: skip
    result = fit(mlp(), digits, recipe, seed=0)
    spe = math.ceil(digits.n_train / 400)
    assert len(seen) == 4 * spe
    expected = [  # lr, momentum, weight decay of the weights, label smoothing
        (0.05, 0.0, 0.0, 0.0), (0.02, 0.9, 1e-3, 0.0), (0.02, 0.9, 1e-3, 0.0),
        (0.01, 0.5, 1e-3, 0.1),
    ]  # fmt: skip
    for step, values in enumerate(seen):
        lr, momentum, decay, smoothing = expected[step // spe]
        assert values["decays"] == [True, False]  # weights, then biases: two groups
        assert values["lr"] == [lr, lr]
        assert values["momentum"] == [momentum, momentum]
        assert values["weight_decay"] == [decay, 0.0]  # never the biases
        assert values["label_smoothing"] == smoothing
    assert [row["lr"] for row in result.history] == [0.05, 0.02, 0.02, 0.01]


def test_piecewise_momentum_from_zero_starts_rmsprops_buffers(
    digits: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RMSprop makes a momentum buffer only at a parameter's first step with momentum > 0.
    seen = _spy_on_steps(monkeypatch)
    points = [{"epoch": 0, "lr": 1e-3}, {"epoch": 1, "momentum": 0.9}]
    recipe = Recipe(optimizer="rmsprop", epochs=2, schedule="piecewise", piecewise=points)
    result = fit(mlp(), digits, recipe, seed=0)
    assert {v["momentum"][0] for v in seen} == {0.0, 0.9}
    assert result.history[1]["train_loss"] < result.history[0]["train_loss"]


def test_a_piecewise_schedule_of_one_point_trains_exactly_as_a_constant_one(
    digits: Dataset,
) -> None:
    fields = {"optimizer": "momentum", "lr": 0.03, "weight_decay": 1e-3,
              "label_smoothing": 0.1, "epochs": 3, "batch_size": 128}  # fmt: skip
    constant = Recipe(**fields)
    points = [
        {"epoch": 0, "lr": 0.03},
        {"epoch": 1, "lr": 0.03, "momentum": 0.9, "weight_decay": 1e-3},  # the same again
        {"epoch": 2, "label_smoothing": 0.1},
    ]
    replayed = Recipe(**fields, schedule="piecewise", piecewise=points)
    a, b = mlp(dropout=0.2), mlp(dropout=0.2)
    first, second = fit(a, digits, constant, seed=3), fit(b, digits, replayed, seed=3)
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)
    assert first.metrics == second.metrics


def test_a_piecewise_schedule_of_step_decays_trains_exactly_as_step(digits: Dataset) -> None:
    step = Recipe(optimizer="nesterov", lr=0.04, schedule="step", step_size=1, step_gamma=0.5,
                  epochs=3, batch_size=256)  # fmt: skip
    rates = LRSchedule(step, steps_per_epoch=math.ceil(digits.n_train / 256))
    points = [{"epoch": e, "lr": rates.values_at_epoch(e)["lr"]} for e in range(3)]
    assert [p["lr"] for p in points] == [0.04, 0.02, 0.01]
    replayed = step.replace(schedule="piecewise", piecewise=points)
    a, b = mlp(), mlp()
    fit(a, digits, step, seed=1)
    fit(b, digits, replayed, seed=1)
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)


def test_piecewise_label_smoothing_is_ignored_by_regression() -> None:
    ds = load_dataset("diabetes", seed=0)
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 1))
    points = [{"epoch": 0, "lr": 0.01, "label_smoothing": 0.1}, {"epoch": 1, "lr": 0.003}]
    recipe = Recipe(epochs=2, schedule="piecewise", piecewise=points)
    assert [row["lr"] for row in fit(module, ds, recipe).history] == [0.01, 0.003]


def test_regression_reports_mse_and_mae_in_target_units() -> None:
    ds = load_dataset("diabetes", seed=0)
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 1))
    reporter = NullReporter()
    result = fit(module, ds, Recipe(lr=0.01, epochs=5, bias_init="mean"), reporter=reporter)
    assert set(reporter.history[0][1]) == {"train_loss", "val_loss", "val_mse", "val_mae", "lr"}
    m = result.metrics
    assert m["val_mse"] == pytest.approx(m["val_loss"] * ds.target_scale**2)
    assert m["val_mse"] < float(np.var(ds.y_val * ds.target_scale))  # better than the mean
    assert {"test_mse", "test_mae", "test_loss"} <= set(m)
    flat = nn.Sequential(nn.Linear(10, 1), nn.Flatten(0))  # (batch,) outputs work too
    assert math.isfinite(fit(flat, ds, Recipe(epochs=1)).metrics["val_mse"])


def test_output_shape_mismatch_is_a_clear_error(digits: Dataset) -> None:
    wrong = nn.Sequential(nn.Flatten(), nn.Linear(64, 5))
    with pytest.raises(ConfigError, match=r"logits of shape \(batch, 10\).*got \(batch, 5\)"):
        fit(wrong, digits, Recipe(epochs=1))
    not_flat = nn.Sequential(nn.Linear(64, 10))
    with pytest.raises(ConfigError, match=r"cannot take the dataset's inputs of shape"):
        fit(not_flat, digits, Recipe(epochs=1))


def test_an_empty_validation_split_is_refused(digits: Dataset) -> None:
    empty = dataclasses.replace(digits, x_val=digits.x_val[:0], y_val=digits.y_val[:0])
    with pytest.raises(ConfigError, match=r"non-empty train and val splits.*n_val=0"):
        fit(mlp(), empty, Recipe(epochs=1))


def test_checkpoint_round_trip(digits: Dataset, tmp_path: Path) -> None:
    path = tmp_path / "ckpt" / "model.pt"
    module = mlp()
    recipe = Recipe(epochs=2)
    result = fit(module, digits, recipe, checkpoint_path=path)
    fresh = mlp()
    content = load_checkpoint(path, fresh)
    assert content["epoch"] == 2
    assert Recipe.from_dict(content["recipe"]) == recipe
    assert content["metrics"] == result.metrics
    np.testing.assert_array_equal(predict(fresh, digits.x_val), predict(module, digits.x_val))
    assert set(read_state_dict(path)) == set(module.state_dict())
    opt = torch.optim.Adam(fresh.parameters())
    load_checkpoint(path, optimizer=opt)
    assert len(opt.state) == len(list(fresh.parameters()))


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    plain = tmp_path / "plain.pt"
    torch.save(mlp().state_dict(), plain)
    with pytest.raises(ConfigError, match="not an archtune checkpoint"):
        load_checkpoint(plain)


def test_predict_and_evaluate_agree_with_fit(digits: Dataset) -> None:
    module = mlp()
    result = fit(module, digits, Recipe(epochs=2))
    module.train()
    logits = predict(module, digits.x_test)
    assert module.training  # predict restores the mode
    assert logits.shape == (digits.n_test, 10)
    assert logits.dtype == np.float32
    accuracy = float((logits.argmax(1) == digits.y_test).mean())
    assert accuracy == pytest.approx(result.metrics["test_accuracy"])
    metrics = evaluate(module, digits, split="test", batch_size=100)
    assert metrics["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"])
    assert metrics["test_loss"] == pytest.approx(result.metrics["test_loss"], rel=1e-5)
    assert set(evaluate(module, digits, split="val")) == {"val_loss", "val_accuracy"}


def test_measure_latency_per_sample(digits: Dataset) -> None:
    module = mlp()
    module.train()
    latency = measure_latency(module, digits.input_shape, batch_sizes=(1, 16), n_repeats=3)
    assert set(latency) == {1, 16}
    assert all(v > 0 and math.isfinite(v) for v in latency.values())
    assert module.training
    with pytest.raises(ConfigError, match="batch_sizes must be integers >= 1"):
        measure_latency(module, digits.input_shape, batch_sizes=(0,))


def test_device_choice() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="device must be"):
        resolve_device("tpu-ish")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_is_deterministic_and_matches_cpu_closely(digits: Dataset) -> None:
    recipe = Recipe(epochs=3, lr=0.01)
    a = fit(mlp(), digits, recipe, device="cuda")
    b = fit(mlp(), digits, recipe, device="cuda")
    assert a.metrics == b.metrics
    assert a.device.startswith("cuda")
    cpu = fit(mlp(), digits, recipe, device="cpu")
    assert a.metrics["val_accuracy"] == pytest.approx(cpu.metrics["val_accuracy"], abs=0.03)
