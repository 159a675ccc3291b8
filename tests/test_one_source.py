"""One source of truth: the method's classes, roll-ups and axes (and their labels) are defined once, in
``budgetclimat.rulebook.model``; every other module imports them."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import budgetclimat
from budgetclimat import i18n
from budgetclimat.rulebook import model

SRC = Path(budgetclimat.__file__).resolve().parent
MODEL = SRC / "rulebook" / "model.py"


def _string_collections(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if values:
                yield node, set(values)


def test_no_module_but_the_model_lists_the_classes_or_the_axes():
    copies = []
    for path in sorted(SRC.rglob("*.py")):
        if path == MODEL:
            continue
        for node, values in _string_collections(ast.parse(path.read_text(encoding="utf-8"))):
            if len(values & set(model.CLASSES)) >= 3 or len(values & set(model.AXES)) >= 3 or len(values & set(model.ROLLUPS)) >= 2:
                copies.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert copies == []


def test_the_model_detects_a_copy():
    # The scan above must be able to fail: a module with its own class list is caught.
    tree = ast.parse('CLASSES = ["TF", "FSC", "N", "D", "IM", "AA"]\nAXIS = ("eau", "pollution", "biodiversite")')
    found = [values for _, values in _string_collections(tree)]
    assert set(model.CLASSES) in found and {"eau", "pollution", "biodiversite"} in found


def test_labels_of_classes_axes_and_rollups_are_defined_once():
    for module in pkgutil.walk_packages(budgetclimat.__path__, "budgetclimat."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    codes = "|".join(re.escape(c) for c in (*model.CLASSES, *model.AXES, *model.ROLLUPS))
    pattern = re.compile(rf"(class|axis|axe|rollup|objective)[-._\w]*[-._]({codes})$")
    keys = sorted(k for k in i18n.catalogue() if pattern.search(k))
    allowed = {f"class.{c}" for c in model.CLASSES} | {f"rollup.{r}" for r in model.ROLLUPS}
    allowed |= {f"axis.{a}" for a in model.AXES} | {f"axis-short.{a}" for a in model.AXES}
    assert set(keys) == allowed
    # Every class, roll-up and axis has its label in both languages.
    for lang in ("fr", "en"):
        assert all(model.class_label(c, lang) != f"class.{c}" for c in model.CLASSES)
        assert all(model.rollup_label(r, lang) != f"rollup.{r}" for r in model.ROLLUPS)
        assert all(model.axis_label(a, lang, short=True) != a for a in model.AXES)


def test_rollups_cover_every_class_and_orders_are_permutations():
    assert set(model.ROLLUP) == set(model.CLASSES) and set(model.ROLLUP.values()) == set(model.ROLLUPS)
    assert model.classes_of("favourable") == ("TF", "FSC")
    assert sorted(model.AXIS_DISPLAY_ORDER) == sorted(model.AXES) and model.AXIS_DISPLAY_ORDER[:3] == model.I4CE_AXES
    # The legal order of the EU taxonomy: 1 mitigation … 6 biodiversity.
    assert model.AXES[0] == "attenuation" and model.AXES[-1] == "biodiversite"


def test_the_workbook_shows_the_models_labels():
    from budgetclimat.export.workbook.context import Context

    ctx = Context.__new__(Context)
    ctx.lang = "en"
    assert ctx.cls("AA") == "To investigate" == model.class_label("AA", "en")
    assert ctx.rollup("favourable") == "Favourable" and ctx.axis("biodiversite") == "Biodiversity"
    assert ctx.cls("out") == "Out of scope" and ctx.axis("my_objective") == "my_objective"
    ctx.lang = "fr"
    assert ctx.cls("TF") == "Très favorable" and ctx.axis("attenuation") == "Atténuation"
