"""Reading answers files into the canonical answers frame."""

from __future__ import annotations

import pandas as pd
import pytest

from budgetclimat.engine.answers import ANSWER_COLUMNS, parse_share, read_answers
from budgetclimat.errors import ConfigError


def test_csv_with_french_headers_and_cp1252(tmp_path):
    path = tmp_path / "réponses.csv"
    path.write_bytes("Ligne;Fait;Valeur;Classe;Part;Commentaire;Auteur\n2024CA-00-00001;motorisation;électrique;;;vu;Zoé\n;;;;;;\n2024CA-00-00002;;;TF;0,5;;\n".encode("cp1252"))
    frame = read_answers(path)
    assert list(frame.columns) == ANSWER_COLUMNS
    assert list(frame["line_id"]) == ["2024CA-00-00001", "2024CA-00-00002"]
    assert frame.iloc[0]["value"] == "électrique" and frame.iloc[0]["author"] == "Zoé"
    assert list(frame["source_row"]) == [2, 4]
    assert frame.iloc[1]["class"] == "TF" and frame.iloc[1]["share"] == "0,5"
    assert (frame["source_file"] == "réponses.csv").all()


def test_xlsx(tmp_path):
    path = tmp_path / "a.xlsx"
    pd.DataFrame({"nature": ["21828"], "fonction": ["020"], "libellé": ["Achat véhicule"], "fact": ["motorisation"], "value": ["gazole"]}).to_excel(path, index=False)
    frame = read_answers(path)
    assert frame.iloc[0]["label"] == "Achat véhicule" and frame.iloc[0]["fonction"] == "020"
    assert frame.iloc[0]["source_row"] == 2


def test_answers_without_target_column(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("fact,value\nx,y\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_answers(path)
    assert info.value.code == "answers-no-target"


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError):
        read_answers(tmp_path / "nope.csv")


def test_parse_share():
    share, bad = parse_share(pd.Series(["0.4", "0,25", "40 %", "40", None, "abc", "150"], dtype="string"))
    assert list(share.round(4).fillna(-1)) == [0.4, 0.25, 0.4, 0.4, -1, -1, -1]
    assert list(bad) == [False, False, False, False, False, True, True]
