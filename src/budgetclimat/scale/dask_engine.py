"""``classify --engine dask``: the partitioned engine's partitions as a ``dask.dataframe`` collection.

The run is :func:`budgetclimat.scale.engine.run_partitioned` (same partitions, same two passes for staff
costs, same merge, same register writer) with a mapper that runs each pass's per-partition function
(:func:`~budgetclimat.scale.engine.staff_pass`, :func:`~budgetclimat.scale.engine.process_partition`) on a
Dask cluster through ``dask.dataframe``:

* ``dd.from_map(load_partition, numbers, documents)``: one Dask partition per budget partition, a one-row
  frame (its number and its document);
* ``.map_partitions(classify_partitions, fn, settings, …)``: the very same function on each, giving a
  one-row frame (its number and its outcome: the sums merged by :mod:`budgetclimat.scale.merge`, and the
  register rows already encoded by :func:`~budgetclimat.scale.engine.encode_register` — CSV bytes or an
  Arrow table, built on the worker);
* the outcomes are gathered here **in partition order** and merged; the register parts are written here,
  one after the other, exactly as the partitioned engine writes them.

This process reads the partitions (:func:`budgetclimat.read.partitions.iter_partitions`) and scatters each
to the workers: a file's partitions are read in order (the reader carries line numbers, the sums above a
total row and the decimal mark from one partition to the next), so a worker cannot read partition *k*
alone; the workers need no access to the files. Each document is scattered as soon as it is read, and the
collection is built a batch at a time (one partition per worker), at most :data:`IN_FLIGHT` partitions per
worker out at once: this process holds one document being read and one outcome being written, the workers a
few partitions each, whatever the input's size.
The register parts come back encoded rather than written by the workers to part files: a worker of a
remote cluster (``--scheduler``) may not see this machine's disk, and an Arrow table or CSV bytes is the
smallest form of the rows (no copy of the pandas frame on this side).

Local by default (``distributed.LocalCluster``: one worker process per core, one thread each); ``--scheduler
ADDRESS`` connects to a running cluster (``distributed.Client(address)``). Dask is imported here only:
``budgetclimat --help`` and the other engines never load it.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from budgetclimat.errors import BudgetclimatError, ConfigError, FindingsError
from budgetclimat.scale.engine import Settings, run_partitioned

IN_FLIGHT = 2  # partitions sent per worker before the first comes back
CONNECT_TIMEOUT = "5s"

DOCUMENTS = pd.DataFrame({"partition": pd.Series(dtype="int64"), "document": pd.Series(dtype=object)})
OUTCOMES = pd.DataFrame({"partition": pd.Series(dtype="int64"), "outcome": pd.Series(dtype=object)})


def _import_dask():
    try:
        import dask
        import dask.dataframe as dd
        import distributed
    except ImportError as exc:
        raise ConfigError("dask-not-installed", value=str(exc)) from None
    return dask, dd, distributed


def client_for(scheduler: str | None):
    """A ``distributed.Client``: on ``scheduler`` (a wrong or unreachable address is ``dask-scheduler-unreachable``,
    exit 2), else on a new local cluster (closed with the client)."""
    _, _, distributed = _import_dask()
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


def load_partition(number: int, document) -> pd.DataFrame:
    """The Dask partition of budget partition ``number``: one row, its number and its document."""
    return pd.DataFrame({"partition": pd.Series([number], dtype="int64"), "document": pd.Series([document], dtype=object)})


def classify_partitions(frame: pd.DataFrame, fn: Callable, *args) -> pd.DataFrame:
    """``fn(document, *args)`` on each document of a Dask partition (one), as its outcome (or :class:`_Failed`)."""
    outcomes = [_guarded(fn, document, *args) for document in frame["document"]]
    return pd.DataFrame({"partition": frame["partition"].to_numpy(dtype="int64"), "outcome": pd.Series(outcomes, dtype=object)})


def _result(future):
    frame = future.result()
    value = frame["outcome"].iloc[0]
    if isinstance(value, _Failed):
        raise value.error()
    return value


def client_mapper(client) -> Callable:
    """A mapper for :func:`run_partitioned`: ``fn(partition, *args)`` over a ``dask.dataframe`` collection
    built a batch at a time (one partition per worker), outcomes yielded in partition order, at most
    :data:`IN_FLIGHT` × workers partitions out at once."""
    dask, dd, _ = _import_dask()
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    window = IN_FLIGHT * workers

    def mapper(fn: Callable, items: Iterator, args: tuple) -> Iterator:
        # The settings (rule set, answers) and the staff basis go once to every worker: a future is a small
        # graph argument (a pandas frame given as such would be taken for a collection to align with).
        shared = [client.scatter(a, broadcast=True, hash=False) if isinstance(a, (Settings, pd.DataFrame)) else a for a in args]
        pending: deque = deque()  # (outcome future, the scattered document it reads)
        numbers = itertools.count()

        def submit(documents: list) -> None:
            with dask.config.set({"dataframe.convert-string": False}):  # the object columns stay objects
                parts = dd.from_map(load_partition, [next(numbers) for _ in documents], documents, meta=DOCUMENTS, enforce_metadata=False)
                outcomes = parts.map_partitions(classify_partitions, fn, *shared, meta=OUTCOMES, enforce_metadata=False, align_dataframes=False)
                futures = client.compute(outcomes.to_delayed())
            pending.extend(zip(futures, documents))

        batch: list = []
        for item in items:
            batch.append(client.scatter(item, hash=False))  # sent to a worker as soon as read: this process keeps no copy
            if len(batch) == workers:
                submit(batch)
                batch = []
            while len(pending) >= window:
                yield _result(pending.popleft()[0])
        if batch:
            submit(batch)
        while pending:
            yield _result(pending.popleft()[0])

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
