"""bmlab.sweep: serial and Dask runs give identical results, in task order; task errors carry
the index. The Dask cluster is a LocalCluster (2 worker processes x 1 thread) started here."""
import os
import socket
import sys
import time

import numpy as np
import pytest

from bmlab import sweep as sweep_mod
from bmlab.sweep import SCHEDULER_ENV, SweepError, sweep, task_seeds


def _run(task):
    """A seeded run: a few matrix products on a generator made from the task's seed."""
    index, seed, delay = task
    time.sleep(delay)  # late tasks first finish last: the order of results is the tasks'
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((30, 30))
    x = rng.standard_normal(30)
    for _ in range(20):
        x = np.tanh(a @ x / 5.0)
    return index, x


def _fails_at_3(task):
    if task == 3:
        raise ValueError(f"bad task {task}")
    return task


def _pid(task):
    return os.getpid()


@pytest.fixture(scope="module")
def client():
    cloudpickle = pytest.importorskip("cloudpickle")
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is not importable
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    cl = Client(cluster, set_as_default=False)  # as in a chapter: never the default
    try:
        yield cl
    finally:
        cl.close()
        cluster.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def _tasks(n=8):
    # the first tasks sleep longest, so on two workers they finish after later ones
    return [(i, s, 0.05 * (n - i) / n) for i, s in enumerate(task_seeds(2026, n))]


def test_serial_and_distributed_identical_in_order(client):
    serial = sweep(_run, _tasks(), client="serial", progress=False)
    dist = sweep(_run, _tasks(), client=client, progress=False)
    assert [i for i, _ in serial] == list(range(8)) == [i for i, _ in dist]
    for (_, xs), (_, xd) in zip(serial, dist):
        assert xs.tobytes() == xd.tobytes()
    assert len({x.tobytes() for _, x in serial}) == 8  # independent seeds per task


def test_environment_names_the_cluster(client, monkeypatch):
    monkeypatch.setenv(SCHEDULER_ENV, client.scheduler.address)
    pids = sweep(_pid, range(4), progress=False)
    assert os.getpid() not in pids  # ran on the workers
    assert sweep(_pid, range(2), client="serial", progress=False) == [os.getpid()] * 2
    monkeypatch.delenv(SCHEDULER_ENV)
    assert sweep(_pid, range(2), progress=False) == [os.getpid()] * 2


@pytest.mark.parametrize("where", ["serial", "dask"])
def test_task_error_carries_index(client, where):
    with pytest.raises(SweepError, match=r"sweep 'grid': task 3 of 5 failed: "
                                         r"ValueError: bad task 3") as info:
        sweep(_fails_at_3, range(5), client=client if where == "dask" else "serial",
              desc="grid", progress=False)
    assert info.value.index == 3
    assert isinstance(info.value.__cause__, ValueError)


def test_empty_and_bad_arguments():
    assert sweep(_run, [], client="serial") == []
    with pytest.raises(ValueError, match="client must be"):
        sweep(_run, [], client="threads")
    with pytest.raises(TypeError, match="fn must be callable"):
        sweep(3, [1])


def test_task_seeds():
    a, b = task_seeds(5, 3), task_seeds(5, 3)
    assert [s.generate_state(2).tolist() for s in a] == [s.generate_state(2).tolist() for s in b]
    assert len({tuple(s.generate_state(2)) for s in a}) == 3
    assert task_seeds(np.random.SeedSequence(5), 0) == []
    for bad in (-1, 1.5, "x", True):
        with pytest.raises(ValueError, match="seed must"):
            task_seeds(bad, 2)
    with pytest.raises(ValueError, match="n must"):
        task_seeds(1, -1)


def test_unreachable_scheduler_in_environment(monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(SCHEDULER_ENV, f"tcp://127.0.0.1:{port}")
    monkeypatch.setattr(sweep_mod, "CONNECT_TIMEOUT", 1)
    with pytest.raises(RuntimeError, match=f"cannot reach the Dask scheduler "
                                           f"tcp://127.0.0.1:{port}"):
        sweep(_pid, range(2), progress=False)
