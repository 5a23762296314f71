"""Independent runs of a chapter (seeds x parameters), serial or on a Dask cluster.

:func:`sweep` runs ``fn(task)`` for every task and returns the results in task order. Each
task carries everything its run needs, its seed included (seeded per *task*, never per
worker), so a serial run and a distributed one give identical results whatever the number
of workers, the order in which they finish or the machine that ran them::

    from bmlab.sweep import sweep, task_seeds

    def one_run(task):                       # module level: it travels by pickle
        eta, seed = task
        rng = np.random.default_rng(seed)
        ...
        return row

    tasks = [(eta, s) for eta in etas for s in task_seeds(seed, n_seeds)]
    rows = sweep(one_run, tasks, desc="eta x seed")

Where the runs go (``client=``):

``None`` (default)
    the Dask scheduler named by the environment variable ``BMLAB_DASK_SCHEDULER`` (set by
    ``bmlab reproduce --scheduler ADDRESS`` and ``--jobs N`` for the chapter kernels, so the
    runs inside a chapter use the cluster the chapters run on), else serial, in this process;
``"serial"``
    in this process, in task order;
a ``distributed.Client``
    that client's cluster.

A task that raises stops the sweep: the remaining tasks are cancelled and
:class:`SweepError` (a ``RuntimeError``) is raised with the task's index in its message;
the task's own exception is its ``__cause__`` (and ``.error``). A Dask worker that dies while
running a task makes that task fail (``KilledWorker``) the same way, never a silent gap.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

__all__ = ["sweep", "task_seeds", "SweepError", "SCHEDULER_ENV", "client_from_env"]

SCHEDULER_ENV = "BMLAB_DASK_SCHEDULER"
CONNECT_TIMEOUT = 30  # seconds to reach the scheduler named by the environment

_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


class SweepError(RuntimeError):
    """Task ``index`` of a sweep raised ``error`` (also the ``__cause__``)."""

    def __init__(self, index: int, n: int, error: BaseException, desc: str | None = None):
        self.index, self.n, self.error = index, n, error
        what = f"sweep {desc!r}" if desc else "sweep"
        text = str(error).splitlines()[0] if str(error) else ""
        super().__init__(f"{what}: task {index} of {n} failed: {type(error).__name__}"
                         + (f": {text}" if text else ""))


def task_seeds(seed, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent per-task seeds spawned from one ``seed`` (an int >= 0 or a
    ``numpy.random.SeedSequence``): ``np.random.default_rng(task_seeds(s, n)[i])`` is the
    generator of task ``i``, the same on every machine. (Spawning from a ``SeedSequence``
    advances its spawn counter, as ``SeedSequence.spawn`` does.)"""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if isinstance(seed, np.random.SeedSequence):
        ss = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)) \
            and seed >= 0:
        ss = np.random.SeedSequence(int(seed))
    else:
        raise ValueError(f"seed must be a non-negative integer or a numpy SeedSequence, "
                         f"got {seed!r}")
    return ss.spawn(int(n))


def client_from_env():
    """The ``distributed.Client`` of the scheduler named by ``BMLAB_DASK_SCHEDULER``
    (one per process and address, reused), or ``None`` when the variable is unset or empty.
    An unreachable scheduler raises ``RuntimeError`` naming the address."""
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return None
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        from distributed import Client

        try:
            client = Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise RuntimeError(f"cannot reach the Dask scheduler {address} named by "
                               f"{SCHEDULER_ENV} ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        _CLIENTS[address] = client
        return client


def _progress_bar(total: int, desc: str | None, enabled: bool):
    if not enabled or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, desc=desc or "sweep", unit="task", leave=False)


def sweep(fn: Callable[[Any], Any], tasks: Iterable, *, client=None, desc: str | None = None,
          progress: bool = True) -> list:
    """Run ``fn(task)`` for every task; return the results in task order.

    ``fn`` must be a module-level function (picklable); each task carries its own
    seed/parameters (seed per TASK, never per worker), so serial and distributed runs give
    identical results. ``client``: ``None`` -> the Dask client named by the environment
    (``BMLAB_DASK_SCHEDULER``, set by ``bmlab reproduce --scheduler/--jobs`` for the chapter
    kernels) if any, else serial in-process; a ``distributed.Client`` -> use it;
    ``"serial"`` -> force serial. An exception in a task propagates as :class:`SweepError`
    with the task's index in the message (the original exception is its ``__cause__``).
    ``progress`` shows a tqdm bar (``desc`` names it; only outside Jupyter kernels, whose
    outputs must stay clean)."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    tasks = list(tasks)
    if isinstance(client, str):
        if client != "serial":
            raise ValueError(f"client must be None, 'serial' or a distributed.Client, "
                             f"got {client!r}")
        client = None
    elif client is None:
        client = client_from_env()
    elif not hasattr(client, "map"):
        raise TypeError(f"client must be None, 'serial' or a distributed.Client, "
                        f"got {type(client).__name__}")
    show = progress and not _in_kernel()
    if client is None:
        return _serial(fn, tasks, desc, show)
    return _distributed(fn, tasks, client, desc, show)


def _in_kernel() -> bool:
    """Inside a Jupyter kernel (a chapter run by papermill): no progress bar there."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _serial(fn, tasks: list, desc, show: bool) -> list:
    bar = _progress_bar(len(tasks), desc, show)
    out = []
    try:
        for i, task in enumerate(tasks):
            try:
                out.append(fn(task))
            except Exception as exc:
                raise SweepError(i, len(tasks), exc, desc) from exc
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return out


def _distributed(fn, tasks: list, client, desc, show: bool) -> list:
    import time

    if not tasks:
        return []
    # pure=False: every task is a run of its own (no deduplication of equal tasks); the
    # key prefix names the sweep in the dashboard.
    name = (desc or getattr(fn, "__name__", "task")).replace(" ", "_")
    token = os.urandom(6).hex()
    futures = client.map(fn, tasks, pure=False,
                         key=[f"bmlab-sweep-{name}-{token}-{i}" for i in range(len(tasks))])
    bar = _progress_bar(len(tasks), desc, show)
    try:
        pending, done = set(range(len(futures))), 0
        while pending:
            finished = [i for i in pending if futures[i].done()]
            for i in sorted(finished):
                fut = futures[i]
                if fut.status == "error":
                    exc = fut.exception()
                    raise SweepError(i, len(tasks), exc, desc) from exc
                if fut.status == "cancelled":
                    raise SweepError(i, len(tasks),
                                     RuntimeError("the task was cancelled on the cluster"), desc)
                pending.discard(i)
            if finished and bar is not None:
                bar.update(len(finished))
            if pending and not finished:
                time.sleep(0.05)  # polling keeps the calling thread free for signals
        return client.gather(futures)
    finally:
        if bar is not None:
            bar.close()
        client.cancel([f for f in futures if not f.done()])
