"""Budgets larger than memory: the partitioned engine (:mod:`.engine`, ``classify --engine partitions``), the
same per-partition code under Dask (:mod:`.dask_engine`, ``--engine dask``, imported only when asked), and
the summaries per collectivité (:mod:`.collectivites`). Between ``report`` and ``pipeline`` in the layers."""
