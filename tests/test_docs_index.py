"""Every docs page is reachable: docs/index.md links each one, the README links the index and the tutorial."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _links(path: Path) -> set[str]:
    return set(re.findall(r"\]\(([^)#]+)", path.read_text(encoding="utf-8")))


def test_docs_index_links_every_page_and_only_existing_ones():
    docs = ROOT / "docs"
    pages = {p.name for p in docs.glob("*.md")} - {"index.md"}
    links = _links(docs / "index.md")
    assert pages - links == set(), "pages missing from docs/index.md"
    assert all((docs / link).is_file() for link in links), "docs/index.md links a page that does not exist"


def test_readme_links_the_index_and_the_tutorial():
    links = _links(ROOT / "README.md")
    assert {"docs/index.md", "docs/tutorial.md"} <= links
    assert all((ROOT / link).exists() for link in links if not link.startswith("http"))
