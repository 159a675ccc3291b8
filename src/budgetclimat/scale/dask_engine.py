"""``classify --engine dask``: the partitioned engine's per-partition functions run on a Dask cluster.

Local by default (``distributed.LocalCluster``: one worker process per core, one thread each); ``--scheduler
ADDRESS`` connects to a running cluster (``distributed.Client(address)``). This process reads the partitions
(:func:`budgetclimat.read.partitions.iter_partitions`), the workers classify them (the rule set and answers
are scattered once to every worker), and the outcomes come back in partition order: the register is
written here, partition by partition, and the sums merged (:mod:`budgetclimat.scale.engine`). At most
:data:`IN_FLIGHT` partitions per worker are out at once, so memory stays bounded on both sides; the workers
need no access to the files.

Dask is imported here only: ``budgetclimat --help`` and the other engines never load it.
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from budgetclimat.errors import BudgetclimatError, ConfigError, FindingsError
from budgetclimat.scale.engine import run_partitioned

IN_FLIGHT = 2  # partitions sent per worker before the first comes back
CONNECT_TIMEOUT = "5s"


def _import_distributed():
    try:
        import dask.dataframe  # noqa: F401 - the extra's dataframe part, as the docs say
        import distributed
    except ImportError as exc:
        raise ConfigError("dask-not-installed", value=str(exc)) from None
    return distributed


def client_for(scheduler: str | None):
    """A ``distributed.Client``: on ``scheduler`` (a wrong or unreachable address is ``dask-scheduler-unreachable``,
    exit 2), else on a new local cluster (closed with the client)."""
    distributed = _import_distributed()
    if scheduler is None:
        with warnings.catch_warnings():  # e.g. « Port 8787 is already in use »: Dask's own notices are not the user's business
            warnings.simplefilter("ignore")
            cluster = distributed.LocalCluster(n_workers=max(1, min(os.cpu_count() or 1, 8)), threads_per_worker=1, dashboard_address=None,
                                               processes=True)
        client = distributed.Client(cluster)
        client._budgetclimat_cluster = cluster  # closed by close_client
        return client
    try:
        return distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ConfigError("dask-scheduler-unreachable", value=scheduler, expected=f"{type(exc).__name__}: {exc}") from None


def close_client(client) -> None:
    cluster = getattr(client, "_budgetclimat_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


@dataclass
class _Failed:
    """A :class:`BudgetclimatError` raised on a worker, sent back as data (an exception with keyword
    parameters does not survive pickling) and raised again here, with its code, parameters and findings."""

    kind: type
    code: str
    params: dict
    findings: object = None

    def error(self) -> BudgetclimatError:
        if issubclass(self.kind, FindingsError):
            return self.kind(self.code, self.findings, **self.params)
        return self.kind(self.code, **self.params)


def _guarded(fn: Callable, item, *args):
    try:
        return fn(item, *args)
    except BudgetclimatError as exc:
        return _Failed(type(exc), exc.code, dict(exc.params), getattr(exc, "findings", None))


def _result(future):
    value = future.result()
    if isinstance(value, _Failed):
        raise value.error()
    return value


def client_mapper(client) -> Callable:
    """A mapper for :func:`run_partitioned`: ``fn(partition, *args)`` on the cluster, results in order,
    at most :data:`IN_FLIGHT` × workers partitions out at once."""
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    window = IN_FLIGHT * workers

    def mapper(fn: Callable, items: Iterator, args: tuple) -> Iterator:
        # hash=False: a key of its own for each pass; with the data's hash as key, the second pass's scatter
        # of the same settings raced the release of the first pass's (« lost dependencies »)
        shared = [client.scatter(a, broadcast=True, hash=False) if a is not None else None for a in args]
        pending: deque = deque()
        for item in items:
            pending.append(client.submit(_guarded, fn, item, *shared, pure=False))
            if len(pending) >= window:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())

    return mapper


def run_dask(paths, scheduler: str | None = None, client=None, **options):
    """:func:`budgetclimat.scale.engine.run_partitioned` with the partitions classified on Dask (``client``:
    an existing ``distributed.Client``; else one on ``scheduler`` or a local cluster, closed at the end)."""
    own = client is None
    if own:
        client = client_for(scheduler)
    try:
        return run_partitioned(paths, mapper=client_mapper(client), engine="dask", **options)
    finally:
        if own:
            close_client(client)
