"""Turn :class:`RawData` into a :class:`Dataset`: labels, seeded splits, standardisation."""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt

from archtune.data._dataset import Dataset, Task
from archtune.data._errors import DatasetError
from archtune.data._raw import RawData

__all__ = ["build_dataset", "stratified_take", "train_fraction"]

Array = npt.NDArray[np.generic]
Index = npt.NDArray[np.intp]


def stratified_take(
    labels: npt.NDArray[np.int64] | None, pool: Index, n: int, rng: np.random.Generator
) -> tuple[Index, Index]:
    """Draw ``n`` indices of ``pool`` at random, keeping the class proportions of ``labels``.

    Each class gets ``n * count / len(pool)`` indices, rounded down, and the indices still
    missing go to the classes with the largest remainders (ties: the smaller class index).

    Returns:
        ``(taken, rest)``, both in random order.
    """
    if labels is None:
        perm = rng.permutation(pool)
        return perm[:n], perm[n:]
    classes, inverse, counts = np.unique(labels[pool], return_inverse=True, return_counts=True)
    exact = n * counts / len(pool)
    quota = np.floor(exact).astype(np.intp)
    for c in np.argsort(-(exact - quota), kind="stable"):
        if quota.sum() >= n:
            break
        if quota[c] < counts[c]:
            quota[c] += 1
    taken: list[Index] = []
    rest: list[Index] = []
    for c in range(len(classes)):
        members = rng.permutation(pool[inverse == c])
        taken.append(members[: quota[c]])
        rest.append(members[quota[c] :])
    return rng.permutation(np.concatenate(taken)), rng.permutation(np.concatenate(rest))


def train_fraction(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """``dataset`` with ``fraction`` of its training split (seeded; classes in proportion).

    Validation and test splits are unchanged; at least one row per class is kept where the
    split has one.
    """
    if fraction >= 1:
        return dataset
    n = dataset.x_train.shape[0]
    labels = dataset.y_train.astype(np.int64) if dataset.task == "classification" else None
    count = max(round(n * fraction), dataset.n_classes or 1)
    rows, _ = stratified_take(labels, np.arange(n), min(n, count), np.random.default_rng(seed))
    rows = np.sort(rows)
    return dataclasses.replace(
        dataset, x_train=dataset.x_train[rows], y_train=dataset.y_train[rows]
    )


def _infer_task(raw: RawData) -> Task:
    if raw.task is not None:
        return raw.task
    kind = raw.y.dtype.kind
    return "regression" if kind in "fc" else "classification"


def build_dataset(
    raw: RawData,
    *,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    standardize: bool,
    task: Task | None,
    max_samples: int | None,
) -> Dataset:
    """Encode labels, split with a seeded RNG (stratified for classification), standardise.

    ``val_fraction`` and ``test_fraction`` are fractions of the samples without a predefined
    split. Inputs are standardised per feature for flat inputs and per channel (the last axis)
    for images and sequences; regression targets are standardised too. Statistics come from the
    train split only; constant features keep a scale of 1.
    """
    task = task or _infer_task(raw)
    name = raw.name
    ys = [raw.y] + [y for y in (raw.y_val, raw.y_test) if y is not None]

    classes: tuple[object, ...] | None = None
    n_classes: int | None = None
    if task == "classification":
        for y in ys:
            if y.ndim != 1:
                raise DatasetError(
                    f"{name}: classification labels must have shape (n_samples,), got "
                    f"{y.shape}. For one-hot labels pass y.argmax(axis=1), or pass "
                    "task='regression' for several targets."
                )
            if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
                raise DatasetError(
                    f"{name}: classification labels must be integers or strings, got "
                    "fractional floats. Pass task='regression' if y is a continuous target."
                )
        uniques, codes = np.unique(np.concatenate(ys), return_inverse=True)
        if len(uniques) < 2:
            raise DatasetError(
                f"{name}: classification needs at least 2 classes, got {len(uniques)}"
            )
        classes = tuple(u.item() for u in uniques)
        n_classes = len(uniques)
        encoded = np.split(codes.astype(np.int64), np.cumsum([len(y) for y in ys])[:-1])
    else:
        for y in ys:
            if y.dtype.kind not in "biuf":
                raise DatasetError(
                    f"{name}: regression targets must be numbers, got dtype {y.dtype}. "
                    "Pass task='classification' for class labels."
                )
        encoded = [y.astype(np.float64) for y in ys]

    rng = np.random.default_rng(seed)
    strat = encoded[0] if task == "classification" else None
    y_pool = encoded[0]
    pool: Index = np.arange(len(raw.x), dtype=np.intp)
    given_val = raw.x_val is not None
    given_test = raw.x_test is not None
    extra = iter(encoded[1:])
    val_xy = (raw.x_val, next(extra)) if given_val else None
    test_xy = (raw.x_test, next(extra)) if given_test else None

    if max_samples is not None:
        if len(pool) > max_samples:
            pool, _ = stratified_take(strat, pool, max_samples, rng)
        is_cls = task == "classification"
        val_xy = _cap(val_xy, max(1, round(max_samples * val_fraction)), is_cls, rng)
        test_xy = _cap(test_xy, max(1, round(max_samples * test_fraction)), is_cls, rng)

    n_pool = len(pool)
    if test_xy is None:
        test_idx, pool = stratified_take(strat, pool, round(test_fraction * n_pool), rng)
        test_xy = (raw.x[test_idx], y_pool[test_idx])
    if val_xy is None:
        val_idx, pool = stratified_take(strat, pool, round(val_fraction * n_pool), rng)
        val_xy = (raw.x[val_idx], y_pool[val_idx])
    train_idx = rng.permutation(pool)
    x_train, y_train = raw.x[train_idx], y_pool[train_idx]
    x_val, y_val = val_xy[0], val_xy[1]
    x_test, y_test = test_xy[0], test_xy[1]
    if x_val is None or x_test is None:  # pragma: no cover - filled above
        raise DatasetError(f"{name}: internal error, a split is missing")
    for split, x in (("train", x_train), ("val", x_val)):
        if len(x) == 0:
            raise DatasetError(
                f"{name}: the {split} split is empty ({n_pool} samples to split with "
                f"val_fraction={val_fraction}, test_fraction={test_fraction}). "
                "Use more samples or other fractions."
            )

    x_mean = x_scale = y_mean = y_scale = None
    xs = [x.astype(np.float64) for x in (x_train, x_val, x_test)]
    ys_split = [y_train, y_val, y_test]
    if standardize:
        axes = tuple(range(xs[0].ndim - 1)) if xs[0].ndim >= 3 else (0,)
        x_mean = xs[0].mean(axis=axes, keepdims=True)[0]
        x_scale = _safe_scale(xs[0].std(axis=axes, keepdims=True)[0])
        xs = [(x - x_mean) / x_scale for x in xs]
        if task == "regression":
            y_mean = ys_split[0].mean(axis=0)
            y_scale = _safe_scale(ys_split[0].std(axis=0))
            ys_split = [(y - y_mean) / y_scale for y in ys_split]

    y_dtype = np.int64 if task == "classification" else np.float32
    x_out = [_frozen(x.astype(np.float32)) for x in xs]
    y_out = [_frozen(np.asarray(y).astype(y_dtype)) for y in ys_split]
    return Dataset(
        name=name,
        task=task,
        x_train=x_out[0],
        y_train=y_out[0],
        x_val=x_out[1],
        y_val=y_out[1],
        x_test=x_out[2],
        y_test=y_out[2],
        input_shape=tuple(int(d) for d in raw.x.shape[1:]),
        n_classes=n_classes,
        classes=classes,
        x_mean=None if x_mean is None else _frozen(x_mean),
        x_scale=None if x_scale is None else _frozen(x_scale),
        y_mean=None if y_mean is None else _frozen(np.asarray(y_mean)),
        y_scale=None if y_scale is None else _frozen(np.asarray(y_scale)),
    )


def _cap(
    pair: tuple[Array | None, Array] | None, cap: int, stratify: bool, rng: np.random.Generator
) -> tuple[Array | None, Array] | None:
    """Keep at most ``cap`` samples of a predefined split (stratified for classification)."""
    if pair is None or pair[0] is None or len(pair[1]) <= cap:
        return pair
    labels = pair[1].astype(np.int64) if stratify else None
    keep, _ = stratified_take(labels, np.arange(len(pair[1]), dtype=np.intp), cap, rng)
    return pair[0][keep], pair[1][keep]


def _safe_scale(std: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.where(std > 1e-12, std, 1.0)


def _frozen(arr: Array) -> Array:
    arr.setflags(write=False)
    return arr
