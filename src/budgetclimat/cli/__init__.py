"""The ``budgetclimat`` command: a thin shell over the library.

Each subcommand lives in its own module and is imported only when called, so that ``--help`` is instant.
Every error a user can cause ends as a short message in their language and an exit code
(0 ok, 1 invalid data, 2 usage or configuration error) — never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import sys

import click

from budgetclimat import __version__

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# command name -> "module:function"
SUBCOMMANDS = {
    "validate": "budgetclimat.cli.validate:validate",
    "classify": "budgetclimat.cli.classify:classify",
    "explain": "budgetclimat.cli.classify:explain",
    "rules": "budgetclimat.cli.rules:rules",
    "compare": "budgetclimat.cli.compare:compare",
    "errors": "budgetclimat.cli.catalogue:errors",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in SUBCOMMANDS if _available(n))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None or not _available(name):
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


def _available(name: str) -> bool:
    module = SUBCOMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="budgetclimat")
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default="fr",
    show_default=True,
    help="Language of messages and workbook labels.",
)
def cli(lang: str) -> None:
    """Climate budgeting of French local-government budgets (I4CE method, weighted and carbon views)."""
    from budgetclimat import i18n

    i18n.set_language(lang)


def main(argv: list[str] | None = None) -> None:
    code = run(argv)
    # Arrow objects kept alive by reference cycles (a failed read's frames) were otherwise freed in the
    # interpreter's final teardown, after Arrow's own: « terminate called without an active exception », exit
    # 134, on about one error exit in six (apache/arrow#34314). Collected here, while Arrow is alive.
    gc.collect()
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code; every failure becomes a message on stderr."""
    from budgetclimat import i18n
    from budgetclimat.cli.french import install, language_from_argv
    from budgetclimat.errors import EXIT_INTERRUPTED, EXIT_USAGE, BudgetclimatError

    lang, argv = language_from_argv(sys.argv[1:] if argv is None else list(argv))
    lang = lang if lang in i18n.LANGUAGES else "fr"
    i18n.set_language(lang)  # before click parses: its own messages and the help are in this language
    install(lang)
    try:
        result = cli.main(args=argv, prog_name="budgetclimat", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # Ctrl-C: outputs are atomic, nothing partial is left
        click.echo("Interrompu." if _prefix() == "Erreur : " else "Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except BudgetclimatError as exc:
        click.echo(_prefix() + exc.message(), err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - last resort: a user never sees a traceback
        from budgetclimat import i18n

        click.echo(_prefix() + i18n.t("internal-error", kind=type(exc).__name__, detail=_short(str(exc))), err=True)
        click.echo(f"  budgetclimat {__version__}, {_where(exc)}", err=True)  # the short report, for the bug
        return EXIT_USAGE
    return result if isinstance(result, int) else 0


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(exc: BaseException) -> str:
    """The innermost frame of budgetclimat's own code (``module.py:line in function``), not a traceback."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "budgetclimat" in f.filename.replace("\\", "/")]
    if not frames:
        return "?"
    f = frames[-1]
    path = f.filename.replace("\\", "/")
    return f"{path[path.rfind('budgetclimat/'):]}:{f.lineno} in {f.name}"


def _prefix() -> str:
    from budgetclimat import i18n

    return "Erreur : " if i18n.language() == "fr" else "Error: "
