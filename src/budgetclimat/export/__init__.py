"""Outputs of a run: the line register (CSV/Parquet), the summary JSON and the council workbook."""
