"""Serve a storage with optuna-dashboard on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["serve_dashboard"]


def serve_dashboard(
    storage: str,
    *,
    port: int = 8080,
    host: str = "127.0.0.1",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Run optuna-dashboard on ``storage`` until interrupted (Ctrl-C returns normally).

    The server runs in a daemon thread and this (main) thread only waits, so Ctrl-C always
    reaches it: a ``KeyboardInterrupt`` raised inside the server's request handling could be
    swallowed there and leave the dashboard running.

    Raises:
        MissingDependencyError: optuna-dashboard is not installed.
        ConfigError: the port is taken or invalid.
    """
    import threading
    from wsgiref.simple_server import make_server

    import optuna

    from archtune._errors import ConfigError
    from archtune._imports import require

    dashboard = require("optuna_dashboard", extra="dashboard", feature="archtune dashboard")
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rdb = optuna.storages.get_storage(storage)
    _check_port_free(host, port)
    try:
        server = make_server(host, port, dashboard.wsgi(rdb))
    except OSError as exc:
        raise ConfigError(f"--port {port}: cannot serve on {host}:{port} ({exc})") from None
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    if announce is not None:
        announce(f"http://{host}:{port}/dashboard/")
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stopper = threading.Thread(target=server.shutdown, daemon=True)
        stopper.start()
        stopper.join(5)  # a request stuck in the storage must not hold the exit
        server.server_close()


def _check_port_free(host: str, port: int) -> None:
    import socket

    from archtune._errors import ConfigError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"--port {port}: {host}:{port} is in use or not allowed ({exc.strerror}); "
                "choose another port"
            ) from None
