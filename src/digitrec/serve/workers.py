"""Several worker processes behind one port: ``digitrec serve --workers N``.

Reading is CPU work in Python and numpy, so the threads of one process share
one interpreter lock; processes use every core. The supervisor (uvicorn's, with
one listening ``SO_REUSEPORT`` socket per worker so that the kernel spreads
connections over the workers) starts N worker processes; each builds its own
app with :func:`app_from_env` (so each loads the model once) from the settings
the parent put in :data:`SETTINGS_ENV`. API keys are not in
those settings: each worker reads them itself, from the key file and
``DIGITREC_API_KEYS``, as the single-process service does.

What is per worker and what is shared:

* ``/metrics`` is shared: prometheus_client's multiprocess mode is on (the
  parent makes a fresh folder for it unless ``PROMETHEUS_MULTIPROC_DIR`` is
  set), so whichever worker answers reports every worker's counts;
* rate limits, the reader threads, ``--max-connections`` and ``/readyz`` are
  per worker (see ``docs/service-operations.md``);
* SIGTERM to the parent is passed to every worker; each drains its requests
  in flight (``--drain-timeout``), then the parent exits 0.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from digitrec.serve.observe import MULTIPROC_ENV

__all__ = ["SETTINGS_ENV", "app_from_env", "run_workers"]

#: The workers' settings, as JSON: the arguments of create_app but ``access``,
#: which holds the options to read the keys with.
SETTINGS_ENV = "DIGITREC_SERVE_SETTINGS"


def app_from_env() -> Any:
    """The app of one worker process, from :data:`SETTINGS_ENV` (an app factory for uvicorn).

    Returns
    -------
    fastapi.FastAPI
        As :func:`digitrec.serve.create_app` builds it.
    """
    from digitrec.cli.serve import access_settings
    from digitrec.serve.app import create_app
    from digitrec.serve.observe import configure_logging

    settings = json.loads(os.environ[SETTINGS_ENV])
    configure_logging()
    a = settings.pop("access")
    keys = None if a["api_keys"] is None else Path(a["api_keys"])
    access = access_settings(keys, a["rate_limit"], a["rate_burst"], a["origins"])
    return create_app(access=access, **settings)


def _listening(host: str, port: int, backlog: int) -> socket.socket:
    """A listening socket on ``host:port`` that others may share (``SO_REUSEPORT``)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _supervisor_class() -> type:
    from uvicorn.supervisors.multiprocess import Multiprocess, Process

    class Supervisor(Multiprocess):
        """uvicorn's supervisor, each worker on a listening socket of its own.

        uvicorn's workers share one socket, and an idle worker accepts every
        connection waiting on it at once: 8 keep-alive clients arriving together
        all land on one worker while the other idles. With one ``SO_REUSEPORT``
        socket per worker the kernel spreads new connections over the workers.
        A worker started later (a replacement) listens on all of them.
        """

        def init_processes(self) -> None:
            for sock in self.sockets:
                process = Process(self.config, [sock])
                process.start()
                self.processes.append(process)

        def keep_subprocess_alive(self) -> None:
            before = {p.pid for p in self.processes}
            super().keep_subprocess_alive()
            _forget_workers(before - {p.pid for p in self.processes})

        def restart_all(self) -> None:
            before = {p.pid for p in self.processes}
            super().restart_all()
            _forget_workers(before - {p.pid for p in self.processes})

    return Supervisor


def _forget_workers(pids: set[int | None]) -> None:
    """Drop replaced workers' live gauges from the shared metrics.

    ``digitrec_ready`` (the least over live workers) and the reads in flight
    (their sum) would otherwise keep a dead worker's last value: a worker that
    died unready would hold ``ready`` at 0 for good.
    """
    if not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    for pid in pids:
        if pid is not None:
            multiprocess.mark_process_dead(pid)


def _supervisor_api_fits() -> bool:
    """Whether this uvicorn's supervisor is the one :func:`_supervisor_class` extends.

    ``uvicorn.supervisors.multiprocess`` is not public API: its classes have
    changed shape between releases (older ones also took the server's ``run``
    as ``target``). The subclass needs ``Multiprocess(config, sockets)`` with
    ``init_processes`` and ``Process(config, sockets)``; anything else gets
    uvicorn's own workers instead.
    """
    import inspect

    try:
        from uvicorn.supervisors.multiprocess import Multiprocess, Process
    except ImportError:
        return False
    want = ["self", "config", "sockets"]
    return (
        callable(getattr(Multiprocess, "init_processes", None))
        and list(inspect.signature(Multiprocess.__init__).parameters) == want
        and list(inspect.signature(Process.__init__).parameters) == want
    )


def _supervisor(config: Any, sockets: list[socket.socket]) -> Any:
    return _supervisor_class()(config, sockets=sockets)


def _uvicorn_workers(config: Any) -> None:
    """``--workers`` on uvicorn's own supervisor: every worker on one shared socket.

    It works on any uvicorn, but the kernel no longer spreads connections:
    an idle worker can take every waiting connection at once (see
    :func:`_supervisor_class`), so it is the fallback, not the default.
    """
    import logging

    import uvicorn

    logging.getLogger("digitrec.serve").warning(
        "uvicorn %s: its worker supervisor is not the one digitrec extends; serving with "
        "uvicorn's own workers on one shared socket (connections may spread unevenly)",
        getattr(uvicorn, "__version__", "?"),
    )
    uvicorn.run(
        config.app,
        factory=True,
        workers=config.workers,
        host=config.host,
        port=config.port,
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=config.timeout_graceful_shutdown,
        limit_concurrency=config.limit_concurrency,
    )


def run_workers(
    settings: dict[str, Any],
    *,
    factory: str = f"{__name__}:app_from_env",
    workers: int,
    host: str,
    port: int,
    drain_s: float,
    max_connections: int | None,
) -> None:
    """Serve with ``workers`` processes until SIGINT or SIGTERM.

    Parameters
    ----------
    settings : dict
        Keyword arguments of :func:`~digitrec.serve.create_app` (JSON values),
        with ``access``: ``{"api_keys", "rate_limit", "rate_burst", "origins"}``.
    factory : str
        ``module:function`` that builds each worker's app (default
        :func:`app_from_env`; ``benchmarks/serve.py`` serves a trivial reader).
    workers : int
        Worker processes (2 or more).
    host, port, drain_s, max_connections
        As for :func:`~digitrec.serve.lifecycle.run_server`; ``max_connections``
        applies to each worker.
    """
    import uvicorn

    os.environ[SETTINGS_ENV] = json.dumps(settings)
    own = None
    if not os.environ.get(MULTIPROC_ENV):
        own = tempfile.mkdtemp(prefix="digitrec-metrics-")
        os.environ[MULTIPROC_ENV] = own
    config = uvicorn.Config(
        factory,
        factory=True,
        workers=workers,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=drain_s,  # type: ignore[arg-type]  # a float works
        limit_concurrency=max_connections,
    )
    sockets = (
        []
        if not _supervisor_api_fits()
        else [_listening(host, port, config.backlog) for _ in range(workers)]
    )
    try:
        _supervisor(config, sockets).run() if sockets else _uvicorn_workers(config)
    finally:
        for sock in sockets:
            sock.close()
        os.environ.pop(SETTINGS_ENV, None)
        if own is not None:
            shutil.rmtree(own, ignore_errors=True)
            del os.environ[MULTIPROC_ENV]
