"""make_optimizer and the per-step scheduler: updates by formula, rates step by step."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from archtune.backends.torch._lr_schedule import make_lr_scheduler  # noqa: E402
from archtune.backends.torch._optim import make_optimizer  # noqa: E402
from archtune.recipe import OPTIMIZERS, LRSchedule, Recipe  # noqa: E402

torch.set_num_threads(1)
P0 = [[1.0, -2.0], [0.5, 4.0]]
B0 = [3.0, -1.0]


class Quadratic(torch.nn.Module):
    """loss = (|P|^2 + |b|^2) / 2, so the gradient is the parameters themselves."""

    def __init__(self) -> None:
        super().__init__()
        self.P = torch.nn.Parameter(torch.tensor(P0, dtype=torch.float64))
        self.b = torch.nn.Parameter(torch.tensor(B0, dtype=torch.float64))

    def loss(self) -> torch.Tensor:
        return 0.5 * (self.P.square().sum() + self.b.square().sum())


def _run(recipe: Recipe, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    model = Quadratic()
    opt = make_optimizer(model, recipe)
    for _ in range(n_steps):
        opt.zero_grad()
        model.loss().backward()
        opt.step()
    return model.P.detach(), model.b.detach()


def _tensor(values: list[list[float]] | list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("name", ["gd", "sgd"])
def test_plain_gradient_descent(name: str) -> None:
    P, b = _run(Recipe(optimizer=name, lr=0.1), 2)
    torch.testing.assert_close(P, _tensor(P0) * 0.9**2)
    torch.testing.assert_close(b, _tensor(B0) * 0.9**2)


def test_momentum_and_nesterov_by_formula() -> None:
    lr, m = 0.1, 0.9
    p0 = _tensor(B0)
    # heavy ball: v1 = g0; p1 = p0 - lr v1; v2 = m v1 + g1; p2 = p1 - lr v2
    p1 = p0 - lr * p0
    p2 = p1 - lr * (m * p0 + p1)
    torch.testing.assert_close(_run(Recipe(optimizer="momentum", lr=lr), 2)[1], p2)
    # nesterov: the update is g + m v
    q1 = p0 - lr * (p0 + m * p0)
    v2 = m * p0 + q1
    q2 = q1 - lr * (q1 + m * v2)
    torch.testing.assert_close(_run(Recipe(optimizer="nesterov", lr=lr), 2)[1], q2)


def test_adam_first_step_moves_each_weight_by_lr() -> None:
    P, b = _run(Recipe(optimizer="adam", lr=0.01, eps=1e-12), 1)
    torch.testing.assert_close(b, _tensor(B0) - 0.01 * torch.sign(_tensor(B0)))
    torch.testing.assert_close(P, _tensor(P0) - 0.01 * torch.sign(_tensor(P0)))


def test_adamw_decays_weights_but_not_biases() -> None:
    lr, wd = 0.01, 0.5
    P, b = _run(Recipe(optimizer="adamw", lr=lr, weight_decay=wd, eps=1e-12), 1)
    torch.testing.assert_close(P, _tensor(P0) * (1 - lr * wd) - lr * torch.sign(_tensor(P0)))
    torch.testing.assert_close(b, _tensor(B0) - lr * torch.sign(_tensor(B0)))


def test_sgd_weight_decay_is_l2_on_weights_only() -> None:
    P, b = _run(Recipe(optimizer="sgd", lr=0.1, weight_decay=0.5), 1)
    torch.testing.assert_close(P, _tensor(P0) * (1 - 0.1 * 1.5))
    torch.testing.assert_close(b, _tensor(B0) * 0.9)


def test_rmsprop_first_step_by_formula() -> None:
    lr, rho = 0.01, 0.9
    _, b = _run(Recipe(optimizer="rmsprop", lr=lr, rho=rho, eps=1e-12), 1)
    g = _tensor(B0)
    torch.testing.assert_close(b, g - lr * g / (math.sqrt(1 - rho) * g.abs()))


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_hyperparameters_reach_the_torch_optimizer(name: str) -> None:
    momentum = {"sgd": 0.3, "rmsprop": 0.2}.get(name)
    recipe = Recipe(optimizer=name, lr=0.05, momentum=momentum, weight_decay=0.01)
    opt = make_optimizer(Quadratic(), recipe)
    group = opt.param_groups[0]
    assert group["lr"] == 0.05
    assert group["weight_decay"] == 0.01
    assert opt.param_groups[1]["weight_decay"] == 0.0  # the bias group
    expected_class = {
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "rmsprop": torch.optim.RMSprop,
    }.get(name, torch.optim.SGD)
    assert type(opt) is expected_class
    if expected_class is torch.optim.SGD:
        assert group["momentum"] == recipe.effective_momentum
        assert group["nesterov"] == (name == "nesterov")
    if name in ("adam", "adamw"):
        assert group["betas"] == (0.9, 0.999)
    if name == "rmsprop":
        assert (group["alpha"], group["momentum"]) == (0.99, 0.2)


def test_frozen_parameters_are_left_out() -> None:
    model = Quadratic()
    model.b.requires_grad_(False)
    opt = make_optimizer(model, Recipe())
    assert [p for g in opt.param_groups for p in g["params"]] == [model.P]
    model.P.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        make_optimizer(model, Recipe())


@pytest.mark.parametrize(
    "recipe",
    [
        Recipe(lr=0.1, epochs=3, schedule="step", step_size=1, warmup_epochs=1),
        Recipe(lr=0.1, epochs=3, schedule="one_cycle"),
        Recipe(lr=0.1, epochs=3, schedule="cosine", min_lr=0.01),
        Recipe(lr=0.1, epochs=3, schedule="exponential", exp_gamma=0.5),
    ],
)
def test_scheduler_sets_the_schedules_rate_before_every_step(recipe: Recipe) -> None:
    model = Quadratic()
    opt = make_optimizer(model, recipe)
    sched = make_lr_scheduler(opt, recipe, steps_per_epoch=4)
    reference = LRSchedule(recipe, steps_per_epoch=4)
    for step in range(12):
        assert opt.param_groups[0]["lr"] == pytest.approx(reference.lr_at(step))
        assert sched.lr == opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    assert sched.step_count == 12


def test_scheduler_plateau_lowers_the_rate_after_patience() -> None:
    recipe = Recipe(lr=0.1, schedule="plateau", plateau_patience=2, plateau_factor=0.5)
    opt = make_optimizer(Quadratic(), recipe)
    sched = make_lr_scheduler(opt, recipe, steps_per_epoch=1)
    for loss, expected in [(1.0, 0.1), (1.0, 0.1), (1.0, 0.05), (0.5, 0.05), (0.6, 0.05)]:
        sched.step()
        sched.end_epoch(loss)
        assert opt.param_groups[0]["lr"] == pytest.approx(expected)
    restored = make_lr_scheduler(make_optimizer(Quadratic(), recipe), recipe, steps_per_epoch=1)
    restored.load_state_dict(sched.state_dict())
    assert restored.lr == pytest.approx(0.05)
    assert restored.step_count == 5


def test_the_old_lr_scheduler_names_still_work_with_a_deprecation_warning() -> None:
    import archtune.backends.torch as backend

    with pytest.warns(DeprecationWarning, match="make_scheduler is deprecated"):
        assert backend.make_scheduler is make_lr_scheduler
    with pytest.warns(DeprecationWarning, match="StepScheduler is deprecated"):
        assert backend.StepScheduler is backend.StepLRScheduler
