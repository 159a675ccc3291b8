"""Every text the workbook shows, French first: keys prefixed ``workbook.`` in the static catalogue
(``budgetclimat/messages/export.yaml``)."""

from __future__ import annotations

from budgetclimat import i18n

_PREFIX = "workbook."


def tr(key: str, lang: str, /, **params: object) -> str:
    return i18n.t(_PREFIX + key, lang, **params)


def known(key: str) -> bool:
    return _PREFIX + key in i18n.catalogue()


def basis_text(basis, lang: str) -> str:
    """« montants exécutés (mandatés) » for ``executed``; an unknown basis as given."""
    return tr(f"basis-{basis}", lang) if isinstance(basis, str) and known(f"basis-{basis}") else ("" if basis is None else str(basis))


def format_text(fmt, lang: str) -> str:
    return tr(f"format-{fmt}", lang) if isinstance(fmt, str) and known(f"format-{fmt}") else ("" if fmt is None else str(fmt))


def nomenclature_text(variant: str, lang: str) -> str:
    """« M14 (communes de 3 500 habitants et plus) » for ``M14-M14_COM_SUP3500``; « M57 » for ``M57-M57``."""
    parts = []
    for one in str(variant).split(", "):
        base, _, detail = one.partition("-")
        detail = detail[len(base) + 1:] if detail.startswith(base + "_") else ("" if detail == base else detail)
        words = tr(f"variant-{detail}", lang) if detail and known(f"variant-{detail}") else detail.replace("_", " ")
        parts.append(f"{base} ({words})" if words else base)
    return ", ".join(dict.fromkeys(parts))


def collectivite_text(lines, lang: str) -> str:
    """Who the lines belong to, for titles and page headers: the collectivité's name, or « 50 collectivités »
    when they carry several SIRET/SIREN (a DGFiP balance, whose name column holds each budget's label): the
    first name would say the file is hers."""
    columns = getattr(lines, "columns", ())
    sirets = [v for v in (lines["siret"].dropna().astype(str).unique() if "siret" in columns else []) if v]
    if len(sirets) > 1:
        return tr("collectivites-several", lang, n=f"{len(sirets):,}".replace(",", "\u202f" if lang == "fr" else ","))
    names = [v for v in (lines["collectivite"].dropna().astype(str) if "collectivite" in columns else []) if v]
    return names[0] if names else ""


SHOWN_VALUES = 5  # values of a header column (budgets, SIRET) listed in full on the summary; more are counted


def several_text(series, lang: str, key: str) -> str:
    """The distinct non-empty values of a header column joined by commas, or « 76 budgets (A, B, C …) » when
    there are more than :data:`SHOWN_VALUES` (``key``: the catalogue text that counts them)."""
    values = [v for v in series.dropna().astype(str).unique() if v]
    if len(values) <= SHOWN_VALUES:
        return ", ".join(values)
    count = f"{len(values):,}".replace(",", "\u202f" if lang == "fr" else ",")
    return tr(key, lang, n=count, first=", ".join(values[:3]))

