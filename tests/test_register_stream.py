"""The line register streams to its file by batches of register rows: the file read back is the same whatever
the batch size (CSV: one BOM and one header; Parquet: one schema, every row), and its euros add up to the cent."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pyarrow.parquet as pq
import pytest

from test_workbook import hand_lines, make_result


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_register_is_the_same_by_batches(tmp_path, monkeypatch, suffix):
    from budgetclimat.export import register

    result = make_result(hand_lines(n_extra=30))
    whole = register.write_lines(result, tmp_path / f"whole{suffix}", lang="fr")
    monkeypatch.setattr(register, "REGISTER_BATCH_ROWS", 7)
    assert len(result.register) > 7 * 3
    batched = register.write_lines(result, tmp_path / f"batched{suffix}", lang="fr")
    if suffix == ".csv":
        raw = batched.read_bytes()
        assert raw == whole.read_bytes()
        assert raw.count(b"\xef\xbb\xbf") == 1 and raw.count(b"line_id;") == 1
        frame = pd.read_csv(batched, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
        amounts = frame["amount_share"].map(lambda v: Decimal(v.replace(",", ".")))
    else:
        assert pq.ParquetFile(batched).metadata.num_row_groups == -(-len(result.register) // 7)
        assert pq.read_table(batched).equals(pq.read_table(whole))
        frame = pq.read_table(batched).to_pandas()
        amounts = frame["amount_share"]
    assert len(frame) == len(result.register)
    # every piece once, in the register's order, and the euros of the file are the register's cents
    assert frame["line_id"].tolist() == result.register["line_id"].astype(str).tolist()
    assert sum(amounts) * 100 == int(result.register["amount_share_cents"].sum())
