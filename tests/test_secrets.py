"""No secrets in output: a storage URL's password never reaches stdout, stderr or a file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from archtune._redact import redact_url
from archtune.testing import find_pg_bin, postgres_server

ARCHTUNE = [sys.executable, "-m", "archtune"]
PASSWORD = "S3cretPw"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"postgresql+psycopg://team:{PASSWORD}@db.example:5432/studies",
            "postgresql+psycopg://team:***@db.example:5432/studies",
        ),
        (f"team:{PASSWORD}@127.0.0.1", "team:***@127.0.0.1"),  # the scheme left out
        (
            f"mysql+pymysql://u:{PASSWORD}@h/d?charset=utf8",
            "mysql+pymysql://u:***@h/d?charset=utf8",
        ),
        ("postgresql://team:p%40ss%2Fword@db/s", "postgresql://team:***@db/s"),
        (f"redis://:{PASSWORD}@localhost:6379/0", "redis://:***@localhost:6379/0"),
        # Nothing to hide: exactly as given.
        ("sqlite:///archtune.db", "sqlite:///archtune.db"),
        ("sqlite:////abs/path/study.db", "sqlite:////abs/path/study.db"),
        ("postgresql+psycopg://archtune@127.0.0.1:5432/archtune", None),
        ("memory", "memory"),
        ("runs/journal.log", "runs/journal.log"),
        ("", ""),
        ("not a url at all", "not a url at all"),
    ],
)
def test_redact_url(url: str, expected: str | None) -> None:
    assert redact_url(url) == (url if expected is None else expected)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://u:{PASSWORD}@h:notaport/d",  # SQLAlchemy cannot parse it
        f"weird://u:{PASSWORD}@[bad",
        f"postgresql://u:{PASSWORD}@x@host/d",  # a bare "@" in the password
        f"postgresql://u@host/d?sslmode=require&password={PASSWORD}",
        f"postgresql://u@host/d?PWD={PASSWORD}",
    ],
)
def test_redact_url_hides_the_password_of_odd_urls(url: str) -> None:
    redacted = redact_url(url)
    assert PASSWORD not in redacted
    assert PASSWORD[1:] not in redacted  # no tail of it either
    assert "host" in redacted or "[bad" in redacted or "h:" in redacted


def test_redact_url_is_idempotent() -> None:
    once = redact_url(f"postgresql+psycopg://team:{PASSWORD}@db/s")
    assert redact_url(once) == once


def test_the_json_documents_hide_the_password() -> None:
    import json

    from archtune.report._json import studies_document
    from archtune.shrinking import Candidate, ShrinkResult

    url = f"postgresql+psycopg://team:{PASSWORD}@db/studies"
    hidden = "postgresql+psycopg://team:***@db/studies"
    assert studies_document([], storage=url)["storage"] == hidden
    baseline = Candidate(
        label="baseline",
        trial=None,
        params=100,
        flops=200,
        latency_ms=0.1,
        val_accuracy=0.9,
        test_accuracy=0.9,
        train_time_s=1.0,
        structure="dense 4 > head 2",
        recipe={},
        test_interval=(0.89, 0.91),
        change_interval=(0.0, -0.01, 0.01),
    )
    shrunk = ShrinkResult(
        baseline=baseline,
        pareto=(),
        chosen=baseline,
        baseline_best_recipe=None,
        objective="params",
        max_drop=0.005,
        exported=None,
        study_name="s",
        storage=url,
        wall_time_s=1.0,
    )
    document = shrunk.to_dict()  # also what the study stores and `show --json` prints
    assert document["study"]["storage"] == hidden
    assert PASSWORD not in json.dumps(document)


# -- the CLI against a real server, with a role that has a password --------------------------
needs_postgres = pytest.mark.skipif(
    find_pg_bin() is None, reason="PostgreSQL (initdb, pg_ctl) not installed"
)


@pytest.fixture(scope="module")
def secret_url() -> Iterator[str]:
    """A URL with a password, to a real database (the role is created with that password)."""
    import sqlalchemy

    with postgres_server(database="secrets") as admin_url:
        engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE ROLE tuner LOGIN PASSWORD '{PASSWORD}'")
            connection.exec_driver_sql("GRANT ALL ON SCHEMA public TO tuner")
            connection.exec_driver_sql("GRANT ALL ON DATABASE secrets TO tuner")
            connection.exec_driver_sql("ALTER DATABASE secrets OWNER TO tuner")
        engine.dispose()
        host = admin_url.split("@", 1)[1]  # 127.0.0.1:PORT/secrets
        yield f"postgresql+psycopg://tuner:{PASSWORD}@{host}"


def _config(path: Path, url: str, **changes: Any) -> Path:
    config: dict[str, Any] = {
        "name": "secret-study",
        "objective": "objectives:quadratic",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "objectives": {"score": "max"},
        "budget": {"trials": 3},
        "workers": 1,
        "scheduler": "none",
        "storage": url,
        "seed": 0,
    } | changes
    path.write_text(yaml.safe_dump(config))
    return path


def _archtune(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCHTUNE, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _assert_no_secret(result: subprocess.CompletedProcess[str], what: str) -> None:
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert PASSWORD not in text, f"{what}: the password is in {name}:\n{text}"


@pytest.mark.integration
@pytest.mark.postgres
@needs_postgres
def test_the_password_never_reaches_output(
    tmp_path: Path, cli_env: dict[str, str], secret_url: str
) -> None:
    env = cli_env | {"ARCHTUNE_STORAGE": secret_url}
    config = _config(tmp_path / "secret.yaml", secret_url)
    wrong_db = secret_url.rsplit("/", 1)[0] + "/no_such_database"
    wrong_db_config = _config(tmp_path / "wrong.yaml", wrong_db, name="elsewhere")
    missing_config = _config(tmp_path / "missing.yaml", secret_url, name="never-ran")

    runs: dict[str, tuple[subprocess.CompletedProcess[str], int | None]] = {
        "run": (_archtune(env, "run", str(config)), 0),
        "run again (exists)": (_archtune(env, "run", str(config)), 2),
        "run --json --resume": (
            _archtune(env, "run", str(config), "--resume", "--json", "--storage", secret_url),
            0,
        ),
        "show": (_archtune(env, "show", "secret-study", "--storage", secret_url), 0),
        "show --json": (_archtune(env, "show", "secret-study", "--json"), 0),
        "studies": (_archtune(env, "studies", "--storage", secret_url), 0),
        "studies --json": (_archtune(env, "studies", "--json"), 0),
        "report": (
            _archtune(env, "report", "secret-study", "-o", str(tmp_path / "report.html")),
            0,
        ),
        "show (no such study)": (_archtune(env, "show", "nope"), 2),
        "show --json (no such study)": (_archtune(env, "show", "nope", "--json"), 2),
        "report (no such study)": (_archtune(env, "report", "nope"), 2),
        "resume (no such study)": (_archtune(env, "run", str(missing_config), "--resume"), 2),
        # A failure to connect: any non-zero exit (its code is not what this test checks).
        "run (wrong database)": (_archtune(env, "run", str(wrong_db_config)), None),
        "studies (wrong database)": (_archtune(env, "studies", "--storage", wrong_db), None),
        "studies --json (wrong database)": (
            _archtune(env, "studies", "--json", "--storage", wrong_db),
            None,
        ),
        "show (wrong database)": (_archtune(env, "show", "x", "--storage", wrong_db), None),
        "show --json (wrong database)": (
            _archtune(env, "show", "x", "--json", "--storage", wrong_db),
            None,
        ),
    }
    for what, (result, expected_code) in runs.items():
        _assert_no_secret(result, what)
        if expected_code is None:
            assert result.returncode != 0, (what, result.stdout, result.stderr)
        else:
            assert result.returncode == expected_code, (what, result.stdout, result.stderr)
    # The outputs still say where the study is, with the password hidden.
    assert "tuner:***@" in runs["show"][0].stdout
    assert "tuner:***@" in runs["studies --json"][0].stdout
    assert "tuner:***@" in runs["run again (exists)"][0].stderr
    assert "secret-study" in runs["studies"][0].stdout
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".yaml"]
    assert (tmp_path / "report.html") in written
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), f"the password is in {path}"

    _assert_no_password_stored(secret_url)


def _assert_no_password_stored(url: str) -> None:
    """What a study stores is printed by ``show`` and ``report``: it must not hold the URL."""
    import json

    import optuna

    names = optuna.get_all_study_names(url)
    assert "secret-study" in names
    for name in names:
        study = optuna.load_study(study_name=name, storage=url)
        stored = json.dumps(study.user_attrs) + json.dumps(
            [t.user_attrs for t in study.get_trials(deepcopy=False)]
        )
        assert PASSWORD not in stored


def test_a_storage_lost_mid_run_is_one_line_without_the_password() -> None:
    import optuna
    from sqlalchemy.exc import OperationalError

    from archtune import StorageLostError
    from archtune.search._driver import _storage_failed, _storage_lost
    from archtune.search._experiment import Experiment

    url = "postgresql+psycopg://team:p%40ss@127.0.0.1:55439/studies"
    dropped = OperationalError(
        "COMMIT", {}, Exception("server closed the connection unexpectedly (password p@ss)")
    )
    try:
        try:
            raise dropped
        except OperationalError as exc:
            raise optuna.exceptions.StorageInternalError("commit failed") from exc
    except optuna.exceptions.StorageInternalError as wrapped:
        caught: BaseException = wrapped
    assert _storage_failed(caught)
    assert not _storage_failed(ValueError("a user's bug"))
    experiment = Experiment.__new__(Experiment)
    object.__setattr__(experiment, "storage", url)
    error = _storage_lost(experiment, caught)
    assert isinstance(error, StorageLostError)
    message = str(error)
    assert "\n" not in message
    assert "p@ss" not in message
    assert "p%40ss" not in message
    assert "team:***@127.0.0.1:55439" in message
    assert "server closed the connection unexpectedly" in message
    assert "--resume" in message
