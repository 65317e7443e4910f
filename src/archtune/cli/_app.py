"""The ``archtune`` command line: ``run``, ``studies``, ``show``."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.logging import RichHandler

from archtune._errors import ArchtuneError, ConfigError, MissingDependencyError
from archtune._redact import redact_url
from archtune.cli._common import (
    check_storage_exists,
    fail,
    record_storage_source,
    storage_source,
)
from archtune.cli._console import err, out
from archtune.config import DEFAULT_STORAGE

logger = logging.getLogger("archtune")

__all__ = ["app", "main"]

app = typer.Typer(
    name="archtune",
    help="Shrink and tune neural networks: search structure and training recipe.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StorageOption = Annotated[
    str,
    typer.Option(
        "--storage",
        envvar="ARCHTUNE_STORAGE",
        help="Optuna storage URL, e.g. sqlite:///archtune.db or postgresql+psycopg://...",
        callback=record_storage_source,
    ),
]

# The options `shrink` and `shrink-trial` share.
MaxDropOption = Annotated[
    float,
    typer.Option(
        min=0.0, max=0.99, help="Accepted drop in accuracy, on validation (0.005: 0.5 pt)."
    ),
]
CostOption = Annotated[str, typer.Option(help="The cost: params, flops or latency.")]
LabelOption = Annotated[
    str | None,
    typer.Option(help="The label column of a .csv file (default: target, y or label)."),
]
WorkersOption = Annotated[int, typer.Option(min=1, help="Models trained at once.")]
JsonOption = Annotated[bool, typer.Option("--json", help="One JSON document.")]
OnnxOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="The chosen model's ONNX file.")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or logs.")]


def _setup_logging(quiet: bool) -> None:
    handler = RichHandler(console=err, show_path=False, show_time=False, markup=False)
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        handlers=[handler],
        format="%(message)s",
        force=True,
    )


def _sigterm_as_interrupt() -> None:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _run_storage(config: Path, from_config: str | None) -> str | None:
    """The storage ``run`` uses without ``--storage``, checked: the config's ``storage``, else
    ``ARCHTUNE_STORAGE`` (as the commands that read studies use it), else the default; a log
    line when the config's overrides the variable. ``None``: the config's, to load with it."""
    from archtune.config import check_storage

    variable = os.environ.get("ARCHTUNE_STORAGE") or None
    if from_config is not None:
        check_storage(from_config, source=f"{config}: storage")
        if variable is not None and variable != from_config:
            logger.info(
                "storage from %s: %s (ARCHTUNE_STORAGE names %s; `show` and the other commands "
                "read the variable, so pass them --storage)",
                config,
                redact_url(from_config),
                redact_url(variable),
            )
        return None
    if variable is not None:
        check_storage(variable, source="ARCHTUNE_STORAGE")
        return variable
    check_storage(DEFAULT_STORAGE, source=f"{config}: storage (default)")
    return None


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="The experiment's YAML file.")],
    storage: Annotated[
        str | None,
        typer.Option(
            help="Storage URL; overrides the config's `storage`, which overrides ARCHTUNE_STORAGE."
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Trials at once; overrides `workers`.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the existing study of this name.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Overrides the config's `seed`.")] = None,
    executor: Annotated[
        str | None, typer.Option(help="local or ray; overrides the config's `executor`.")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (auto, host:port).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or logs.")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON document on stdout (implies --quiet).")
    ] = False,
) -> None:
    """Run (or with --resume, continue) the study a config describes."""
    quiet = quiet or json_out
    from archtune.cli._progress import StudyProgress
    from archtune.config import check_storage, load_config, read_config_file
    from archtune.search import Driver, TooManyFailuresError

    _setup_logging(quiet)
    _sigterm_as_interrupt()
    try:
        # The storage first: loading a built-in config may train (the LR range test of lr: auto).
        if storage is not None:
            check_storage(storage, source="--storage")
        else:
            storage = _run_storage(config, read_config_file(config).get("storage"))
        experiment = load_config(
            config,
            overrides={
                "storage": storage,
                "workers": workers,
                "seed": seed,
                "executor": executor,
                "address": address,
            },
        )
        progress = None if quiet else StudyProgress(experiment.name or "study", console=err)
        driver = Driver(experiment, resume=resume, progress=progress)
        if progress is None:
            result = driver.run()
        else:
            with progress:
                result = driver.run()
    except KeyboardInterrupt:
        err.print(
            f"[yellow]interrupted[/]: running trials were marked interrupted and will run again; "
            f"continue with: archtune run {config} --resume",
            highlight=False,
        )
        raise typer.Exit(130) from None
    except TooManyFailuresError as exc:
        fail(str(exc), code=1)
    except (ConfigError, MissingDependencyError) as exc:
        fail(str(exc))
    except ArchtuneError as exc:
        fail(str(exc))
    if json_out:
        from archtune.cli._report_cmds import result_json

        result_json(result, experiment.storage or "memory")
    elif not quiet:
        _print_result(result, experiment.storage or "memory")
    if not result.counts.get("complete"):
        fail(_nothing_completed(result, config), code=1)


def _nothing_completed(result: Any, config: Path) -> str:
    """Why a run that ended without one completed trial exits with code 1."""
    from archtune.cli._tables import counts_line

    failed = [t for t in result.trials if t.error]
    first = f"; the first error: {failed[0].error.splitlines()[0]}" if failed else ""
    return (
        f"no trial of study {result.name} completed ({counts_line(result)}){first}; fix the "
        f"cause (a corrected config replaces this study with `archtune run {config} --resume`)"
    )


def _data_line(result: Any) -> str | None:
    """Built-in training: the data and how its inputs were prepared (what accuracies mean)."""
    from archtune.search._attrs import STUDY_BUILTIN

    record = result.study.user_attrs.get(STUDY_BUILTIN) or {}
    data = record.get("data")
    if not data:
        return None
    prepared = "standardized" if data.get("standardize", True) else "as given"
    return f"data: {data.get('dataset')} (inputs {prepared})"


def _print_result(result: Any, storage: str) -> None:
    from archtune.cli._tables import counts_line, trials_table

    where = redact_url(storage)
    out.print(f"study [bold]{result.name}[/] in {where}: {counts_line(result)}", highlight=False)
    data = _data_line(result)
    if data is not None:
        out.print(data, highlight=False, soft_wrap=True)
    if result.objectives.is_multi:
        from archtune.search._result_view import n_trials

        title = f"Pareto front ({n_trials(len(result.best_trials))})"
    else:
        title = "best trials"
    top = result.top(5)
    if top:
        out.print(trials_table(result, top, title=title))
    else:
        out.print("no trial completed")


@app.command()
def studies(
    storage: StorageOption = DEFAULT_STORAGE,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List the studies in a storage: objectives, trials by state, best value."""
    if json_out:
        from archtune.cli._report_cmds import studies_json

        studies_json(storage)
        return
    import optuna
    from rich.table import Table

    from archtune.cli._tables import counts_line, format_value
    from archtune.search import TuneResult, driver_of

    check_storage_exists(storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    names = optuna.get_all_study_names(storage)
    if not names:
        out.print(f"no studies in {redact_url(storage)}", highlight=False)
        return
    table = Table(title=f"studies in {redact_url(storage)}", title_justify="left")
    for column in ("study", "objectives", "trials", "best"):
        table.add_column(column)
    for name in names:
        result = TuneResult.from_study(optuna.load_study(study_name=name, storage=storage))
        objectives = ", ".join(f"{m} ({d})" for m, d in result.objectives.directions)
        best = result.best_trials
        if not best:
            best_text = "-"
        elif result.objectives.is_multi:
            best_text = f"{len(best)} on the Pareto front"
        else:
            best_text = f"{format_value(best[0].values[0])} (trial {best[0].number})"  # type: ignore[index]
        table.add_row(name, objectives, counts_line(result, driver_of(result.study)), best_text)
    out.print(table)


@app.command()
def show(
    study: Annotated[str, typer.Argument(help="The study's name.")],
    storage: StorageOption = DEFAULT_STORAGE,
    top: Annotated[int, typer.Option(min=1, help="How many best trials (one objective).")] = 10,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Show a study: the best trials or Pareto front, trial counts, and each failure."""
    if json_out:
        from archtune.cli._report_cmds import show_json

        show_json(study, storage, top)
        return
    from archtune.cli._tables import counts_line, trials_table
    from archtune.search import ENDED_UNFINISHED, driver_of, load_result

    check_storage_exists(storage)
    try:
        result = load_result(study, storage)
    except ArchtuneError as exc:
        fail(str(exc))
    where = redact_url(storage)
    counts = counts_line(result, driver_of(result.study))
    out.print(
        f"study [bold]{result.name}[/] in {where}: {counts}", highlight=False, soft_wrap=True
    )
    data = _data_line(result)
    if data is not None:
        out.print(data, highlight=False, soft_wrap=True)
    best = result.top(top)
    if best:
        title = "Pareto front" if result.objectives.is_multi else f"best {len(best)} trials"
        out.print(trials_table(result, best, title=title))
    from archtune.cli._schedule import schedule_section

    schedule = schedule_section(result)
    if schedule is not None:
        table, recipe = schedule
        out.print(table)
        if recipe:
            out.print("the recipe that replays it (a config's recipe: block, same model):")
            out.print(recipe, highlight=False, soft_wrap=True, markup=False)
    failed = [t for t in result.trials if t.status in ENDED_UNFINISHED]
    if failed:
        out.print(f"[bold]failed trials[/] ({len(failed)})")
        for trial in failed:
            line = (trial.error or "no error recorded").splitlines()[0] if trial.error else "-"
            out.print(
                f"  trial {trial.number} ({trial.status}): {line}", highlight=False, soft_wrap=True
            )


@app.command()
def model(
    name: Annotated[
        str,
        typer.Argument(
            help="A built-in network (cnn-32-64-64, ...), a family, a .keras file, or "
            "module:function returning a Keras model or a PyTorch module."
        ),
    ],
    input_shape: Annotated[
        str | None,
        typer.Option(help="A family's input shape (28,28,1), or a PyTorch module's (1,28,28)."),
    ] = None,
    outputs: Annotated[int, typer.Option(min=1, help="For a family: the outputs.")] = 10,
) -> None:
    """Print a network's layers, output shapes, parameters and FLOPs (like model.summary())."""
    from archtune.cli._model_cmds import resolve_network, summary_table

    try:
        network = resolve_network(name, input_shape=input_shape, n_outputs=outputs)
        table, torch_line = summary_table(network)
    except ArchtuneError as exc:
        fail(str(exc))
    out.print(table)
    out.print(torch_line, highlight=False)


@app.command("lr-find")
def lr_find(
    data: Annotated[str, typer.Option(help="A built-in dataset, a .npz/.csv file, module:fn.")],
    model: Annotated[str, typer.Option(help="A built-in network or a family.")],
    optimizer: Annotated[str, typer.Option(help="The optimizer to sweep.")] = "adam",
    batch_size: Annotated[int, typer.Option(min=1)] = 64,
    steps: Annotated[int, typer.Option(min=10, help="Steps of the sweep.")] = 200,
    max_samples: Annotated[int | None, typer.Option(help="Use a subset of the data.")] = None,
    label: LabelOption = None,
    seed: int = 0,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the curve (.html, .csv or .json)."),
    ] = None,
) -> None:
    """Run the LR range test and print the suggested learning rate."""
    from archtune.cli._model_cmds import lr_find_report, write_curve
    from archtune.config import check_writable

    try:
        if output is not None:
            check_writable(output)
        result = lr_find_report(
            data=data,
            model=model,
            optimizer=optimizer,
            batch_size=batch_size,
            n_steps=steps,
            seed=seed,
            max_samples=max_samples,
            label=label,
            console=out,
        )
        if output is not None:
            write_curve(result, output)
    except ArchtuneError as exc:
        fail(str(exc))
    out.print(
        f"suggested learning rate: {result.suggested_lr:.3g} (rule: {result.rule}; the "
        f"loss was lowest at {result.min_loss_lr:.3g})",
        highlight=False,
    )
    if output is not None:
        out.print(f"curve written to {output}", highlight=False)


@app.command()
def shrink(
    model: Annotated[
        str,
        typer.Argument(
            help="A built-in network (cnn-32-64-64), a family, a .keras file, or "
            "module:function returning a Keras model or a PyTorch module."
        ),
    ],
    data: Annotated[str, typer.Option(help="A built-in dataset, a .npz/.csv file, module:fn.")],
    label: LabelOption = None,
    max_drop: MaxDropOption = 0.005,
    objective: CostOption = "params",
    budget: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="All training, in baseline trainings (--epochs each); default 10, more on "
            "a table too small for 3 search steps in 10.",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        int, typer.Option(min=1, help="Epochs of one baseline training (the budget's unit).")
    ] = 10,
    finetune_epochs: Annotated[
        int | None, typer.Option(min=1, help="Each finalist's fine-tune (default 2 x epochs).")
    ] = None,
    strategy: Annotated[
        str, typer.Option(help="progressive (layer by layer) or sampler (TPE).")
    ] = "progressive",
    target: Annotated[
        float | None, typer.Option(help="Stop the search at this reduction, e.g. 20.")
    ] = None,
    distill: Annotated[
        bool, typer.Option(help="Learn from the baseline's logits too (T=4, alpha=0.7).")
    ] = False,
    standardize: Annotated[
        bool | None,
        typer.Option(
            "--standardize/--no-standardize",
            help="Standardise the inputs (default: only for a model trained here; a model "
            "with weights sees the data as given).",
        ),
    ] = None,
    train_baseline: Annotated[
        bool | None,
        typer.Option(
            "--train-baseline/--keep-weights",
            help="Train the baseline here (default: only when the model has no weights).",
        ),
    ] = None,
    trials: Annotated[int, typer.Option(min=1, help="Trials of --strategy sampler.")] = 32,
    backend: Annotated[
        str, typer.Option(help="torch or keras: the framework that trains every model.")
    ] = "torch",
    storage: StorageOption = DEFAULT_STORAGE,
    workers: WorkersOption = 2,
    seed: Annotated[int, typer.Option(help="Seeds the split and every training.")] = 0,
    resume: Annotated[bool, typer.Option(help="Continue the existing shrink study.")] = False,
    name: Annotated[
        str | None, typer.Option(help="The study's name (default shrink-<model>-<data>).")
    ] = None,
    json_output: JsonOption = False,
    output: OnnxOption = None,
    quiet: QuietOption = False,
) -> None:
    """Shrink a model: the cheapest network within --max-drop of its accuracy, exported."""
    from archtune.cli._shrink_cmd import shrink_command
    from archtune.config import check_storage, check_writable

    _setup_logging(quiet or json_output)
    _sigterm_as_interrupt()
    try:
        check_storage(storage, source=storage_source())
        if output is not None:
            check_writable(output)
        shrink_command(
            model,
            data if label is None else {"dataset": data, "target": label},
            max_drop=max_drop,
            objective=objective,
            budget=budget,
            epochs=epochs,
            finetune_epochs=finetune_epochs,
            strategy=strategy,
            target=target,
            distill=distill,
            standardize=standardize,
            train_baseline=train_baseline,
            n_trials=trials,
            backend=backend,
            storage=storage,
            n_workers=workers,
            seed=seed,
            resume=resume,
            name=name,
            json_output=json_output,
            output=output,
            quiet=quiet,
        )
    except KeyboardInterrupt:
        err.print(
            f"[yellow]interrupted[/]: continue with: archtune shrink {model} --data "
            f"{data} --resume",
            highlight=False,
        )
        raise typer.Exit(130) from None
    except ArchtuneError as exc:
        fail(str(exc))


@app.command("shrink-trial")
def shrink_trial(
    study: Annotated[str, typer.Argument(help="A built-in training study's name.")],
    storage: StorageOption = DEFAULT_STORAGE,
    trial: Annotated[
        int | None, typer.Option(help="The trial number (default: the most accurate).")
    ] = None,
    max_drop: MaxDropOption = 0.005,
    objective: CostOption = "params",
    budget: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="All training, in trainings of the trial (its epochs); default 10, more on "
            "a table too small for 3 search steps in 10.",
            show_default=False,
        ),
    ] = None,
    workers: WorkersOption = 2,
    name: Annotated[
        str | None,
        typer.Option(help="The shrink study's name (default shrink-<study>-trial-<n>)."),
    ] = None,
    json_output: JsonOption = False,
    output: OnnxOption = None,
    quiet: QuietOption = False,
) -> None:
    """Shrink a trial of a built-in study: its data, network, recipe and seed, from its
    weights to the cheapest network within --max-drop of its accuracy."""
    from archtune.cli._shrink_cmd import shrink_trial_command
    from archtune.config import check_storage, check_writable

    _setup_logging(quiet or json_output)
    _sigterm_as_interrupt()
    try:
        check_storage(storage, source=storage_source())
        if output is not None:
            check_writable(output)
        shrink_trial_command(
            study,
            storage,
            trial=trial,
            max_drop=max_drop,
            objective=objective,
            budget=budget,
            n_workers=workers,
            name=name,
            json_output=json_output,
            output=output,
            quiet=quiet,
        )
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]", highlight=False)
        raise typer.Exit(130) from None
    except ArchtuneError as exc:
        fail(str(exc))


@app.command()
def demo(
    workers: Annotated[int, typer.Option(min=1)] = 2,
    seed: int = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Shrink the reference CNN (cnn-32-64-64) on mnist-sample (a few minutes on 2 CPUs)."""
    from archtune.cli._shrink_cmd import demo_command
    from archtune.config import check_writable

    _setup_logging(quiet or json_output)
    _sigterm_as_interrupt()
    try:
        if output is not None:
            check_writable(output)
        demo_command(workers, seed, output, json_output, quiet)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]", highlight=False)
        raise typer.Exit(130) from None
    except ArchtuneError as exc:
        fail(str(exc))


@app.command()
def report(
    study: Annotated[str, typer.Argument(help="The study's name.")],
    storage: StorageOption = DEFAULT_STORAGE,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="HTML file (default <study>-report.html)."),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a study."""
    from archtune.cli._report_cmds import report_command

    report_command(study, storage, output)


@app.command()
def export(
    study: Annotated[str, typer.Argument(help="The study's name.")],
    format: Annotated[str, typer.Option("--format", help="onnx, torchscript or keras.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
    storage: StorageOption = DEFAULT_STORAGE,
    trial: Annotated[
        int | None, typer.Option(help="The trial number (default: the best).")
    ] = None,
    pick: Annotated[
        tuple[str, str] | None, typer.Option(help="smallest-within DROP (0.01 or 1%).")
    ] = None,
) -> None:
    """Retrain a built-in trial and export it (checked against the framework)."""
    from archtune.cli._report_cmds import export_command

    export_command(study, storage, format, output, trial=trial, pick=pick)


@app.command()
def dashboard(
    storage: StorageOption = DEFAULT_STORAGE,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
) -> None:
    """Serve the storage with optuna-dashboard on 127.0.0.1 (Ctrl-C to stop)."""
    from archtune.cli._report_cmds import dashboard_command

    dashboard_command(storage, port)


def main() -> None:
    """The ``archtune`` console script."""
    app()
