"""Write docs/errors.md from the static message catalogue (``src/budgetclimat/messages/*.yaml``).

    python scripts/gen_errors_doc.py          # rewrite the file
    python scripts/gen_errors_doc.py --check  # exit 1 if the file is out of date (the test suite does this)

The hand-written parts of the page (introduction, each section's heading, introduction and notes) are the
template below; the tables are the catalogue's codes (undotted keys), each under its ``section``, with its
level (a finding's ``level``, or ``exit N`` for the exit code of the exception that carries it), titles and
French message.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "errors.md"
DEFAULT_SECTION = "other"
# The first lines of every catalogue file (scripts/extract_catalogue.py writes them).
HEADER = """\
# Texts of budgetclimat ({stage} stage), loaded by budgetclimat.i18n: key -> fr, en (message template or label)
# and, for a catalogue code (a key without a dot), title_fr/title_en, the section of docs/errors.md, the level
# of a finding (error / warning / info) and the exit code of the exception that carries it.
# docs/errors.md is generated from these files: python scripts/gen_errors_doc.py
"""


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    intro: str
    notes: str
    sort: str  # "catalogue": the order of the catalogue files; "code": alphabetical


PREAMBLE = """\
# Error and finding catalogue

Every message budgetclimat shows has a stable **code**. `budgetclimat errors` prints this catalogue in the
chosen language (`budgetclimat --lang en errors`), `budgetclimat errors CODE` one entry, `--format json`
for machines. Messages are templates: `{file}`, `{row}`, `{column}`, `{value}`, `{expected}` are
the columns of a finding (`row` is the spreadsheet row, header included, or the line of the
`<LigneBudget>` element in a TOTEM file).

Two kinds of trouble (see `src/budgetclimat/errors.py`):

* **findings** on data that could be read, with a level: an `error` makes `budgetclimat validate` exit
  with code 1 (invalid data); a `warning` is shown but the exit code stays 0;
* **exceptions** that stop a run: invalid data (exit 1) or a usage/configuration mistake (exit 2),
  including an output that cannot be written (`output-not-writable`: read-only folder, a parent that is
  a file, disk full, `ulimit -f`; nothing partial is left).

Exit codes: 0 ok; 1 invalid data; 2 usage or configuration error (and `internal-error`, kept for bugs:
one short line, never a library traceback); 3 `invariant-violated` (a runtime consistency check of the
figures failed — a bug in budgetclimat, nothing is written; see `pipeline.check_invariants`);
130 interrupted by Ctrl-C (nothing partial is left).

This page is generated from the catalogue (`src/budgetclimat/messages/*.yaml`, loaded by
`budgetclimat.i18n`) by `scripts/gen_errors_doc.py`; a test fails when it is out of date. To add a code, add
its entry to the catalogue file of its stage (texts, titles, `section`, and `level` for a finding), then run
the script. The level column gives a finding's level, or the exit code of the exception that carries the
code (from the code that raises it).
"""

SECTIONS = [
    Section(
        'validation',
        'Validation findings (`budgetclimat validate`, `budgetclimat.validate`)',
        intro="""\
Each is a pandera check named by its code (see `line_schema()` and `consistency_schema()`).
""",
        notes="""\
Notes:

* **Levels.** A budget accepted by the State's checks is not "invalid": an `error` (exit code 1) is kept
  for what makes euros wrong or unplaceable (a line or code that cannot be read, an amount that is not a
  number, an empty amount basis, totals that do not reconcile). Everything the document says differently
  from our expectations (an account our plan lacks, a chapter or section that differs from the plan's) is
  a `warning`: the line is read as the document says, its euros counted. `docs/formats.md` lists the
  findings a real budget typically raises and what to do about each.
* **Shown grouped.** `validate` and `classify` print one entry per file × code × column × value, with
  the count and the first five rows (`budgetclimat.errors.group_findings`); the JSON report
  (`validate --report x.json`) keeps every finding under `findings` and adds the `groups`.
* `account-unknown` is not raised for a malformed code (that is `code-format`), nor for an account whose
  parent account is in the plan (`account-parent-chapter`: the line takes the parent's chapter, e.g.
  `73925` under `7392`), nor for a `45…` account that extends a plan account
  (`account-third-party-operation`: third-party operations are numbered by the collectivité, e.g.
  `454418` after `45441`).
* `account-chapter-mismatch` accepts the social-allowance chapters (RMI 015/010, APA 016, RSA 017/018),
  where a département votes every account of the allowance, and an opération d'équipement voted as its
  own chapter (chapter = operation number).
* `duplicate-line` compares, within a document: nature, fonction, chapitre fonctionnel, section, sens,
  réel/ordre, operation number and chapter. A TOTEM file may split one imputation by autorisation de
  programme (`CaracSup ProgAutoNum`), which the line model does not carry: such lines are reported.
  It is not applied to line-level exports (an ERP's detail: several mandates per account, each with its
  own label): a document where at least half of the groups of rows sharing an imputation carry a
  distinct label on every row is such an export.
""",
        sort='catalogue',
    ),
    Section(
        'reconciliation',
        'Reconciliation findings (`budgetclimat.reconcile`)',
        intro="""\

""",
        notes="""\

""",
        sort='catalogue',
    ),
    Section(
        'limits',
        'Input limits and the spreadsheet container (`budgetclimat.limits`, `budgetclimat.read.workbook`)',
        intro="""\
Checked before any reading work starts: a file over a limit is refused with exit 1, naming the file,
what was found and the limit, and how to raise it (`--limit NAME=VALUE` or `BUDGETCLIMAT_LIMIT_<NAME>`).
A damaged archive is refused naming the member and the damage. Cells that hold no value are findings
(an `error` in an amount column, where euros would be lost; a `warning` elsewhere).
""",
        notes="""\
`workbook-damaged` names the member (`xl/worksheets/sheet1.xml`…) and one of: unreadable zip archive,
encrypted member, unsupported compression method, truncated data, invalid compressed stream, real size
different from the declared size (a lying zip directory), wrong CRC, DOCTYPE declaration, malformed XML,
invalid cell reference. `workbook-unreadable` is what the spreadsheet reader (calamine) itself reports,
whatever its kind of failure.
""",
        sort='catalogue',
    ),
    Section(
        'other',
        'Other codes (readers, plans de comptes, rulebooks, views, command line)',
        intro="""\

""",
        notes="""\

""",
        sort='code',
    ),
    Section(
        'coverage',
        'Coverage of the rulebooks, tables by year, isolated views',
        intro="""\
Warnings: the run goes on and the coloured budget and legal annex are produced.
""",
        notes="""\
`nomenclature-not-covered` is one finding per run: `value` gives, per nomenclature, the lines and euros of
real in-scope spending that no classification rulebook covers (an M52 line is covered when its account
and fonction map cleanly to M57, `rules/crosswalks/`); `expected` lists what the rulebooks cover. The
workbook's Synthèse repeats it on its first line. `deflator-missing-year` is now raised only when the
price index table is empty.
""",
        sort='catalogue',
    ),
]

TABLE_HEAD = ["| code | level | title | message (fr) |", "|---|---|---|---|"]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _level(text) -> str:
    parts = [text.level] if text.level else []
    if text.exit is not None:
        parts.append(f"exit {text.exit}")
    return "; ".join(parts) or "—"


def _title(text) -> str:
    titles = [t for t in (text.title_fr, text.title_en) if t]
    return " / ".join(titles) or "—"


def render() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from budgetclimat import i18n

    codes = [t for k, t in i18n.catalogue().items() if "." not in k]
    known = {s.id for s in SECTIONS}
    stray = sorted(f"{t.key} ({t.source}: section {t.section!r})" for t in codes if (t.section or DEFAULT_SECTION) not in known)
    if stray:
        raise SystemExit(f"catalogue codes with an unknown section (expected one of {sorted(known)}): {', '.join(stray)}")
    parts = [PREAMBLE]
    for section in SECTIONS:
        rows = [t for t in codes if (t.section or DEFAULT_SECTION) == section.id]
        if section.sort == "code":
            rows.sort(key=lambda t: t.key)
        table = [f"| `{t.key}` | {_level(t)} | {_cell(_title(t))} | {_cell(t.fr)} |" for t in rows]
        parts += [f"## {section.heading}", section.intro, "\n".join(TABLE_HEAD + table), section.notes]
    return "\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def parse_current(path: Path = TARGET) -> dict[str, tuple[str, str]]:
    """(section, level) of each code listed in the page as it is: how scripts/extract_catalogue.py seeds the
    catalogue from the page that was kept by hand. ``exit N`` and ``—`` are no level."""
    if not path.is_file():
        return {}
    by_heading = {s.heading: s.id for s in SECTIONS}
    out: dict[str, tuple[str, str]] = {}
    section = DEFAULT_SECTION
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = by_heading.get(line[3:].strip(), DEFAULT_SECTION)
            continue
        match = re.match(r"^\|\s*`([a-z0-9-]+)`\s*\|\s*([^|]*?)\s*\|", line)
        if match:
            level = "; ".join(p for p in match.group(2).split("; ") if p not in ("—", "") and not p.startswith("exit "))
            out[match.group(1)] = (section, level)
    return out


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        return 0 if TARGET.read_text(encoding="utf-8") == text else 1
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
