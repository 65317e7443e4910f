"""JSON views of studies for ``--json`` (one document per command)."""

from __future__ import annotations

import math
from typing import Any

from archtune._redact import redact_url
from archtune.search import ENDED_UNFINISHED, TrialResult, TuneResult

__all__ = ["SCHEMA_VERSION", "result_document", "studies_document", "trial_document"]

SCHEMA_VERSION = 1


def _safe(value: Any) -> Any:
    """JSON-safe: NaN and infinities become ``None``; tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def trial_document(trial: TrialResult, result: TuneResult) -> dict[str, Any]:
    """``{number, status, values: {objective: value}, config, metrics, duration_s}``."""
    values = (
        dict(zip(result.objectives.names, trial.values, strict=False))
        if trial.values is not None
        else None
    )
    document: dict[str, Any] = _safe(
        {
            "number": trial.number,
            "status": trial.status,
            "values": values,
            "config": trial.config,
            "metrics": trial.metrics,
            "duration_s": trial.duration_s,
        }
    )
    return document


def result_document(
    result: TuneResult, *, top: int = 10, storage: str | None = None
) -> dict[str, Any]:
    """One study: name, objectives, counts, and the best trials or the Pareto front.

    A shrink study's document also holds its stored result under ``shrink`` (the document of
    ``archtune shrink --json``).
    """
    best = result.top(top)
    document: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "name": result.name,
        "storage": redact_url(storage) if storage is not None else None,
        "objectives": [{"metric": m, "direction": d} for m, d in result.objectives.directions],
        "multi_objective": result.objectives.is_multi,
        "counts": result.counts,
        "n_trials": len(result.trials),
        "best_trials": [trial_document(t, result) for t in best],
        "failed_trials": [
            {
                "number": t.number,
                "status": t.status,
                "error": (t.error or "").splitlines()[0] if t.error else None,
            }
            for t in result.trials
            if t.status in ENDED_UNFINISHED
        ],
    }
    shrink = result.study.user_attrs.get("archtune.shrink.result")
    if isinstance(shrink, dict):  # a shrink study: its own result, as `archtune shrink --json`
        document["shrink"] = _safe(shrink)
        stored_in = document["shrink"].get("study")
        if isinstance(stored_in, dict) and isinstance(stored_in.get("storage"), str):
            stored_in["storage"] = redact_url(stored_in["storage"])  # stored unredacted earlier
    return document


def studies_document(results: list[TuneResult], *, storage: str | None = None) -> dict[str, Any]:
    """Every study of a storage: ``{schema, storage, studies: [...]}``."""
    studies = []
    for result in results:
        best = result.best_trials
        studies.append(
            {
                "name": result.name,
                "objectives": [
                    {"metric": m, "direction": d} for m, d in result.objectives.directions
                ],
                "counts": result.counts,
                "n_trials": len(result.trials),
                "n_best": len(best),
                "best_values": (
                    _safe(dict(zip(result.objectives.names, best[0].values or [], strict=False)))
                    if best and not result.objectives.is_multi
                    else None
                ),
            }
        )
    where = redact_url(storage) if storage is not None else None
    return {"schema": SCHEMA_VERSION, "storage": where, "studies": studies}
