"""The static message catalogue (``src/budgetclimat/messages/*.yaml``): loaded by ``i18n`` alone, complete for
every code the source uses, well formed, and the source of ``docs/errors.md``."""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from budgetclimat import i18n

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
import catalogue_usage  # noqa: E402
import gen_errors_doc  # noqa: E402

LEVEL_WORDS = {"error", "warning", "info"}


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)


def test_i18n_loads_the_catalogue_without_importing_the_library():
    done = _run(
        "import sys\n"
        "from budgetclimat import i18n\n"
        "print(i18n.t('unknown-code', 'fr', value='x'))\n"
        "print(i18n.t('unknown-code', 'en', value='x'))\n"
        "print(sorted(m for m in sys.modules if m.startswith('budgetclimat')))\n"
    )
    assert done.returncode == 0, done.stderr
    fr, en, modules = done.stdout.splitlines()
    assert fr == "Code inconnu du catalogue : x. « budgetclimat errors » liste tous les codes."
    assert en == 'Code not in the catalogue: x. "budgetclimat errors" lists every code.'
    assert modules == "['budgetclimat', 'budgetclimat.i18n']"


def test_help_does_not_load_the_catalogue():
    """``budgetclimat --help`` stays fast: the catalogue (and PyYAML) is loaded on the first message only."""
    done = _run(
        "import sys\n"
        "from budgetclimat.cli import run\n"
        "code = run(['--help'])\n"
        "from budgetclimat import i18n\n"
        "print(code, i18n._CATALOGUE is None, 'yaml' in sys.modules)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 True False"


def test_errors_command_imports_no_stage_of_the_library():
    done = _run(
        "import sys\n"
        "from budgetclimat.cli import run\n"
        "code = run(['errors', 'account-unknown'])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith('budgetclimat') and not m.startswith('budgetclimat.cli')))\n"
    )
    assert done.returncode == 0, done.stderr
    assert "account-unknown — Compte inconnu du plan de comptes" in done.stdout
    assert done.stdout.splitlines()[-1] == "0 ['budgetclimat', 'budgetclimat.errors', 'budgetclimat.i18n']"


def test_every_code_the_source_uses_is_catalogued():
    from budgetclimat.cli.catalogue import load_catalogue

    load_catalogue()
    known = i18n.catalogue()
    uses = catalogue_usage.scan()
    assert len(uses) > 200  # the scan finds the codes (a scan that finds nothing would pass)
    missing = sorted({f"{u.key} ({u.path}:{u.line}, {u.how})" for u in uses if u.key not in known})
    assert not missing, f"codes used but not in the catalogue (src/budgetclimat/messages/*.yaml): {missing}"


def test_the_scan_sees_each_kind_of_use(tmp_path):
    source = tmp_path / "src" / "budgetclimat" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from budgetclimat import i18n\n"
        "from budgetclimat.errors import ConfigError, WARNING\n"
        "def f(x):\n"
        "    raise ConfigError('a-config' if x else 'b-config', path=x)\n"
        "def g():\n"
        "    return [{'level': WARNING, 'code': 'c-finding'}, i18n.t('d.label'), tr('sheet'), i18n.title('e-title')]\n"
        "def _finding(level, code, file):\n"
        "    return {'level': level, 'code': code, 'file': file}\n"
        "class Ctx:\n"
        "    def fail(self, code, line):\n"
        "        raise ConfigError(code, line=line)\n"
        "def h(ctx):\n"
        "    return _finding(ERROR, 'f-helper', 'x'), ctx.fail('g-helper', 3)\n",
        encoding="utf-8",
    )
    saved = catalogue_usage.ROOT
    catalogue_usage.ROOT = tmp_path
    try:
        uses = catalogue_usage.scan(source.parent)
    finally:
        catalogue_usage.ROOT = saved
    assert sorted(u.key for u in uses) == ["a-config", "b-config", "c-finding", "d.label", "e-title", "f-helper", "g-helper", "workbook.sheet"]
    assert catalogue_usage.exit_codes(uses) == {"a-config": 2, "b-config": 2, "g-helper": 2}
    assert catalogue_usage.levels(uses) == {"c-finding": "warning", "f-helper": "error"}


def test_no_define_call_remains():
    done = subprocess.run([sys.executable, str(SCRIPTS / "extract_catalogue.py"), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not hasattr(i18n, "define")


def _duplicate_keys(path: Path) -> list[str]:
    node = yaml.compose(path.read_text(encoding="utf-8"))
    keys = [k.value for k, _ in node.value] if node is not None else []
    return sorted({k for k in keys if keys.count(k) > 1})


@pytest.mark.parametrize("path", sorted((ROOT / "src" / "budgetclimat" / "messages").glob("*.yaml")), ids=lambda p: p.name)
def test_catalogue_file_is_well_formed(path):
    assert not _duplicate_keys(path), f"{path.name}: keys given twice (the second would win in silence)"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    formatter = string.Formatter()
    sections = {s.id for s in gen_errors_doc.SECTIONS}
    for key, entry in data.items():
        assert set(entry) <= set(i18n.FIELDS), (path.name, key)
        fr = {name for _, name, _, _ in formatter.parse(entry["fr"]) if name is not None}
        en = {name for _, name, _, _ in formatter.parse(entry["en"]) if name is not None}
        assert fr == en, f"{path.name}, {key}: fr and en name different parameters ({sorted(fr ^ en)})"
        if "." in key:  # a label of the interface: no field of docs/errors.md
            assert not {"section", "level", "exit", "title_fr", "title_en"} & set(entry), (path.name, key)
            continue
        assert entry.get("section", gen_errors_doc.DEFAULT_SECTION) in sections, (path.name, key)
        if "level" in entry:
            assert set(entry["level"].replace("(amount column)", "").replace("/", " ").split()) <= LEVEL_WORDS, (path.name, key)
        assert entry.get("exit") in (None, 1, 2, 3), (path.name, key)


def test_catalogued_exit_codes_and_levels_match_the_code():
    from budgetclimat.cli.catalogue import load_catalogue

    catalogue = load_catalogue()
    uses = catalogue_usage.scan()
    exits, levels = catalogue_usage.exit_codes(uses), catalogue_usage.levels(uses)
    wrong = sorted(f"{k}: catalogue {t.exit}, raised with exit {exits[k]}" for k, t in catalogue.items() if t.exit is not None and k in exits and exits[k] != t.exit)
    wrong += sorted(f"{k}: catalogue {t.level}, findings of level {levels[k]}" for k, t in catalogue.items() if t.level and k in levels and levels[k] != t.level)
    assert not wrong, wrong
    assert len([t for t in catalogue.values() if t.exit is not None]) > 80 and len([t for t in catalogue.values() if t.level]) > 60


def test_docs_errors_is_generated_from_the_catalogue():
    """docs/errors.md is generated from the catalogue; regenerate with scripts/gen_errors_doc.py."""
    done = subprocess.run([sys.executable, str(SCRIPTS / "gen_errors_doc.py"), "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, "docs/errors.md is out of date: run python scripts/gen_errors_doc.py"
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    # a few facts of the page, as the catalogue gives them
    assert "| `account-unknown` | warning | Compte inconnu du plan de comptes / Account not in the plan de comptes |" in text
    assert "| `sheet-not-found` | exit 2 |" in text and "| `zip-ratio` | exit 1 |" in text
    assert "| `cell-error` | error (amount column) / warning |" in text


def test_a_conflicting_text_is_refused(tmp_path, monkeypatch):
    """A key given two different texts is an error naming both places; nothing is merged."""
    import extract_catalogue

    files = {"read": {"x-code": {"fr": "un", "en": "one", "section": "other"}}}
    entries = [extract_catalogue.Entry("x-code", {"fr": "deux", "en": "one"}, "src/budgetclimat/read/a.py:3")]
    conflicts = extract_catalogue.merge(files, entries, {"x-code": "read"})
    assert conflicts == ["x-code: messages/read.yaml and src/budgetclimat/read/a.py:3 give different texts"]
    same = [extract_catalogue.Entry("x-code", {"fr": "un", "en": "one"}, "src/budgetclimat/read/a.py:3")]
    assert extract_catalogue.merge(files, same, {"x-code": "read"}) == []
    assert files == {"read": {"x-code": {"fr": "un", "en": "one", "section": "other"}}}


TOY_I18N = '''\
def define(key, fr, en, *, title_fr="", title_en=""):
    return key


def t(key, lang=None, /, **params):
    return key
'''
TOY = '''\
"""A toy module with every kind of define the script handles."""

from budgetclimat import i18n
from budgetclimat.helpers import JOINED

_WHERE = "f {file} : "
RULES = {}


def _rule(code, level, fr, en, **kwargs):
    i18n.define(code, fr=_WHERE + fr, en=en)
    RULES[code] = (level, kwargs)
    return code


def _label(key, fr, en):
    return i18n.define(key, fr=fr, en=en)


A = _rule("a-code", "error", "message a", "message a en")
B = _rule(
    "b-code", "warning",
    "message b",
    "message b en",
    expected=_label("x.label", JOINED, "label"),
)

# The texts of a loop.
for _k, _fr, _en in [("one", "un", "one"), ("two", "deux", "two")]:
    i18n.define(f"n.{_k}", fr=_fr, en=_en)

i18n.define("c-code", fr="c", en="c en", title_fr="C", title_en="C en")


def f():
    return i18n.t(i18n.define("d.inner", fr="d", en="d en"))
'''


def _toy_tree(tmp_path: Path) -> Path:
    for name in ("extract_catalogue.py", "catalogue_usage.py", "gen_errors_doc.py"):
        (tmp_path / "scripts").mkdir(exist_ok=True)
        (tmp_path / "scripts" / name).write_text((SCRIPTS / name).read_text(encoding="utf-8"), encoding="utf-8")
    package = tmp_path / "src" / "budgetclimat"
    package.mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "i18n.py").write_text(TOY_I18N, encoding="utf-8")
    (package / "helpers.py").write_text('JOINED = ", ".join(["BP", "CA"])\n', encoding="utf-8")
    (package / "toy.py").write_text(TOY, encoding="utf-8")
    return tmp_path


def _extract(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "scripts" / "extract_catalogue.py"), *args], capture_output=True, text=True, cwd=root, check=False)


def test_extract_script_moves_the_texts_and_removes_the_calls(tmp_path):
    root = _toy_tree(tmp_path)
    assert _extract(root, "--check").returncode == 1
    done = _extract(root)
    assert done.returncode == 0, done.stderr
    code = (root / "src" / "budgetclimat" / "toy.py").read_text(encoding="utf-8")
    compile(code, "toy.py", "exec")
    assert "i18n.define" not in code and "_WHERE" not in code and "_label" not in code and "JOINED" not in code and "for _k" not in code
    assert 'A = _rule("a-code", "error")' in code
    assert 'B = _rule(\n    "b-code", "warning",\n    expected="x.label",\n)' in code
    assert "def _rule(code, level, **kwargs):\n    RULES[code] = (level, kwargs)" in code
    assert 'return i18n.t("d.inner")' in code
    assert "# The texts of a loop." not in code
    data = yaml.safe_load((root / "src" / "budgetclimat" / "messages" / "toy.yaml").read_text(encoding="utf-8"))
    assert data["a-code"] == {"fr": "f {file} : message a", "en": "message a en", "section": "other"}
    assert data["x.label"] == {"fr": "BP, CA", "en": "label"}
    assert data["n.two"] == {"fr": "deux", "en": "two"}
    assert data["c-code"] == {"fr": "c", "en": "c en", "title_fr": "C", "title_en": "C en", "section": "other"}
    assert data["d.inner"] == {"fr": "d", "en": "d en"}
    assert len(data) == 7
    # re-runnable: nothing left to do, nothing changes
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert _extract(root, "--check").returncode == 0
    assert _extract(root).returncode == 0
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts} == before


def test_extract_script_refuses_a_conflicting_text(tmp_path):
    root = _toy_tree(tmp_path)
    messages = root / "src" / "budgetclimat" / "messages"
    messages.mkdir()
    (messages / "read.yaml").write_text("c-code:\n  fr: autre\n  en: c en\n", encoding="utf-8")
    done = _extract(root)
    assert done.returncode == 1
    assert "c-code: messages/read.yaml and src/budgetclimat/toy.py:" in done.stderr
    assert "define" in (root / "src" / "budgetclimat" / "toy.py").read_text(encoding="utf-8")  # nothing written
    assert not (messages / "toy.yaml").exists()


def test_extract_script_refuses_what_it_cannot_rewrite_safely(tmp_path):
    """A function of another module that registers a text and does more (its call cannot just go)."""
    root = _toy_tree(tmp_path)
    package = root / "src" / "budgetclimat"
    (package / "other.py").write_text("from budgetclimat import toy\n\nX = toy._rule('e-code', 'error', 'e', 'e en')\n", encoding="utf-8")
    done = _extract(root)
    assert done.returncode == 1
    assert "_rule() of another module registers a text and does more; convert it by hand" in done.stderr
    assert (package / "other.py").read_text(encoding="utf-8").endswith("'e', 'e en')\n")
