"""``budgetclimat errors``: the catalogue of findings and errors, in the user's language."""

from __future__ import annotations

import json

import click

from budgetclimat import i18n

i18n.define(
    "unknown-code",
    fr="Code inconnu du catalogue : {value}. « budgetclimat errors » liste tous les codes.",
    en="Code not in the catalogue: {value}. \"budgetclimat errors\" lists every code.",
)


def load_catalogue() -> dict[str, i18n.Text]:
    """Import every module of the library so that all codes are registered, then return the codes.

    Modules register their texts at import time. Catalogue codes are the undotted keys
    (``account-unknown``); dotted keys (``cli.validate.totals``) are labels of the interface.
    """
    import importlib
    import pkgutil

    import budgetclimat

    for module in pkgutil.walk_packages(budgetclimat.__path__, "budgetclimat."):
        if module.name.startswith("budgetclimat.cli") or module.name.endswith("__main__"):
            continue
        importlib.import_module(module.name)
    importlib.import_module("budgetclimat.cli.catalogue")
    return {k: v for k, v in sorted(i18n.catalogue().items()) if "." not in k}


@click.command("errors")
@click.option("--format", "output_format", type=click.Choice(["human", "json"]), default="human", show_default=True, help="Text or JSON.")
@click.argument("codes", nargs=-1)
def errors(output_format: str, codes: tuple[str, ...]) -> None:
    """List the catalogue of findings and errors (code, title, message template), or only CODES."""
    from budgetclimat.errors import ConfigError

    catalogue = load_catalogue()
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        raise ConfigError("unknown-code", value=", ".join(unknown))
    lang = i18n.language()
    entries = [
        {
            "code": key,
            "title": (text.title_en if lang == "en" else text.title_fr) or "",
            "message": text.en if lang == "en" else text.fr,
        }
        for key, text in catalogue.items()
        if not codes or key in codes
    ]
    if output_format == "json":
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    for entry in entries:
        click.echo(entry["code"] + (f" — {entry['title']}" if entry["title"] else ""))
        click.echo(f"    {entry['message']}")
