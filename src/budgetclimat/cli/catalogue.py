"""``budgetclimat errors``: the catalogue of findings and errors, in the user's language."""

from __future__ import annotations

import json

import click

from budgetclimat import i18n


def load_catalogue() -> dict[str, i18n.Text]:
    """The catalogue codes, sorted: the undotted keys of the static catalogue (``account-unknown``);
    dotted keys (``cli.validate.totals``) are labels of the interface. Nothing else is imported."""
    return {k: v for k, v in sorted(i18n.catalogue().items()) if "." not in k}


@click.command("errors")
@click.option("--format", "output_format", type=click.Choice(["human", "json"]), default="human", show_default=True, help="Text or JSON.")
@click.argument("codes", nargs=-1)
def errors(output_format: str, codes: tuple[str, ...]) -> None:
    """List the catalogue of findings and errors (code, title, message template), or only CODES."""
    from budgetclimat.errors import ConfigError

    catalogue = load_catalogue()
    codes = tuple(c.strip().lower() for c in codes)  # codes are lower case; « AMOUNT-NEGATIVE » is the same code
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
