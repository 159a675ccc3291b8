"""Where the shipped data (rulebooks, profiles, plans de comptes, factor tables) lives.

In a wheel the top-level ``rules/`` folder is installed as ``budgetclimat/_data/rules``; in a source
checkout (editable install) it is read from the repository.
"""

from __future__ import annotations

from pathlib import Path


def rules_dir() -> Path:
    packaged = Path(__file__).parent / "_data" / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"
