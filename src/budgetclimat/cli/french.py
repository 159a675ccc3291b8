"""The command line in French: click's own words (usage, errors) and the help of every command and option.

Help texts are written once, in English, in the option declarations; this module holds their French
text, keyed by the English one (``HELP_FR``), and click's own strings (``CLICK_FR``). :func:`install`
puts the chosen language in place before click parses anything: French by default, English with
``--lang en`` (given before or after the subcommand). ``tests/test_cli_french.py`` checks that every
help text of every command has its French text, so an option added without one fails the suite.
"""

from __future__ import annotations

import importlib
import inspect

import click

# click 8's own strings (gettext ids) -> French.
CLICK_FR = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "%(prog)s, version %(version)s": "%(prog)s, version %(version)s",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Essayez « {command} {option} » pour l'aide.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "Missing command.": "Commande manquante.",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing parameter: {param_name}": "Paramètre manquant : {param_name}",
    "Missing {param_type}": "{param_type} manquant",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Argument {name!r} takes {nargs} values.": "L'argument {name!r} prend {nargs} valeurs.",
    "Aborted!": "Interrompu.",
    "default: {default}": "défaut : {default}",
    "required": "obligatoire",
    "env var: {var}": "variable d'environnement : {var}",
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "{name} {filename!r} does not exist.": "{name} {filename!r} introuvable.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} est un dossier.",
    "{name} {filename!r} is a file.": "{name} {filename!r} est un fichier.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} illisible (droits).",
    "{name} {filename!r} is not writable.": "{name} {filename!r} : écriture impossible (droits).",
    "{name} {filename!r} is not executable.": "{name} {filename!r} n'est pas exécutable.",
    "Could not open file {filename!r}: {message}": "Impossible d'ouvrir le fichier {filename!r} : {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide.",  # click names the type in English (« integer range »)
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "Choose from:\n\t{choices}": "Choisir parmi :\n\t{choices}",
    "unknown error": "erreur inconnue",
    "deprecated": "obsolète",
    "(dynamic)": "(dynamique)",
}
CLICK_FR_PLURAL = {
    "Got unexpected extra argument ({args})": ("Argument en trop ({args})", "Arguments en trop ({args})"),
    "Option {name!r} requires an argument.": ("L'option {name!r} attend une valeur.", "L'option {name!r} attend {nargs} valeurs."),
    "Did you mean {possibility}?": ("Vouliez-vous dire {possibility} ?", "(Vouliez-vous dire l'un de : {possibilities} ?)"),
    "{value!r} is not {choice}.": ("{value!r} n'est pas {choice}.", "{value!r} n'est pas l'un de {choices}."),
    "Takes {nargs} values but 1 was given.": ("Attend {nargs} valeurs, 1 donnée.", "Attend {nargs} valeurs, {len} données."),
}

# English help text (as declared) -> French.
HELP_FR = {
    "Climate budgeting of French local-government budgets (I4CE method, weighted and carbon views).":
        "Budget vert et budget carbone des collectivités territoriales (méthode I4CE, vues pondérée et carbone).",
    "Show the version and exit.": "Afficher la version et quitter.",
    "Language of messages and workbook labels.": "Langue des messages et du classeur (fr ou en), avant ou après la commande.",
    "Classify the lines of budget files by the rulebooks (I4CE 2022 by default).\n\n    FILES are budget files, folders (every CSV, Parquet, XLSX, XML… file in them) or quoted glob\n    patterns ('data/*.csv'); every engine reads them all as one run.\n\n    Exit code 0 when the data are valid, 1 when they have errors (outputs are still written), 2 on a\n    usage or configuration error (a rulebook or answers file with a mistake, a folder without a budget file,\n    a pattern that matches nothing).\n    ":
        "Classer les lignes de fichiers budgétaires selon les livres de règles (I4CE 2022 par défaut).\n\n"
        "FILES : des fichiers budgétaires, des dossiers (tous leurs fichiers CSV, Parquet, XLSX, XML…) ou des "
        "motifs entre guillemets ('donnees/*.csv') ; chaque moteur les lit tous en une seule exécution.\n\n"
        "Code de sortie 0 quand les données sont valides, 1 quand elles ont des erreurs (les sorties sont "
        "tout de même écrites), 2 en cas d'erreur d'utilisation ou de configuration (livre de règles ou "
        "fichier de réponses erroné, dossier sans fichier budgétaire, motif qui ne désigne aucun fichier).",
    "Rulebook YAML (repeatable). Default: the shipped scope and I4CE 2022 rulebooks. When given, only these rulebooks are used.":
        "Livre de règles YAML (répétable). Par défaut : les livres fournis (périmètre et I4CE 2022). S'il est donné, seuls ces livres servent.",
    "Answers and overrides (CSV or XLSX; repeatable, applied in order).":
        "Réponses et classements manuels (CSV ou XLSX, ou le classeur de l'an dernier ; répétable, appliqués dans l'ordre).",
    "Workbook to write (.xlsx).": "Classeur à écrire (.xlsx).",
    "Council pack to write (.xlsx): only the sheets a council receives (summary, coloured, weighted and carbon budgets, legal annex, method), to print in a few pages; -o keeps every sheet for work.":
        "Dossier du conseil à écrire (.xlsx) : seulement les feuilles que reçoit le conseil (synthèse, budgets vert coloré, pondéré et carbone, annexe légale, méthode), à imprimer en quelques pages ; -o garde toutes les feuilles pour le travail.",
    "Fonction → service mapping for the worklist (YAML, as rules/services/default.yaml). Default: the shipped one.":
        "Correspondance fonction → service pour la liste à approfondir (YAML, comme rules/services/default.yaml). Par défaut : celle fournie.",
    "Classify without the rules declared conventions (a class no I4CE cell supports): the lines they decided fall to the next rule (usually the question of their topic). The outputs still list them, as not applied.":
        "Classer sans les règles déclarées conventions (une classe qu'aucune cellule I4CE ne fonde) : leurs lignes passent à la règle suivante (en général la question de leur thème). Les sorties les listent encore, comme non appliquées.",
    "Line register, long format (.csv or .parquet).": "Registre des lignes, format long (.csv ou .parquet).",
    "How the lines are processed: memory (every line at once), partitions (a few hundred thousand lines at a time: memory bounded by --partition-lines) or dask (the partitions on a Dask cluster; extra budgetclimat[dask]). partitions and dask write no workbook (-o, --pack), no territory carbon budget (--inventory, --trajectory, --measures) and show no ranges.":
        "Comment les lignes sont traitées : memory (toutes les lignes à la fois), partitions (quelques centaines de milliers de lignes à la fois : mémoire bornée par --partition-lines) ou dask (les partitions sur une grappe Dask ; extra budgetclimat[dask]). partitions et dask n'écrivent ni classeur (-o, --pack) ni budget carbone du territoire (--inventory, --trajectory, --measures) et n'affichent pas les fourchettes.",
    "Lines per partition with --engine partitions or dask (default: 50000).": "Lignes par partition avec --engine partitions ou dask (par défaut : 50 000).",
    "Address of a Dask scheduler (tcp://host:8786) for --engine dask. Default: a local cluster on this machine.":
        "Adresse d'un ordonnanceur Dask (tcp://hôte:8786) pour --engine dask. Par défaut : une grappe locale sur cette machine.",
    "Summary per collectivité (SIREN) and national, one row per collectivité and axis (.parquet): for a file of many collectivités such as a DGFiP balance.":
        "Résumé par collectivité (SIREN) et national, une ligne par collectivité et par axe (.parquet) : pour un fichier de nombreuses collectivités comme une balance DGFiP.",
    "Totals by axis and class (JSON).": "Totaux par axe et par classe (JSON).",
    "Territorial inventory (CSV/YAML: year, sector, emissions_tco2e, removals_tco2e); with --trajectory.":
        "Inventaire territorial (CSV/YAML : année, secteur, émissions et absorptions en tCO2e) ; avec --trajectory.",
    "Trajectory of the territory's net emissions (YAML); with --inventory.":
        "Trajectoire des émissions nettes du territoire (YAML) ; avec --inventory.",
    "Measures of the climate plan, tied to budget lines (CSV/XLSX); with --inventory and --trajectory.":
        "Mesures du plan climat, rattachées aux lignes budgétaires (CSV/XLSX) ; avec --inventory et --trajectory.",
    "I4CE option for staff costs: 3a pro rata of all other spending, 3b pro rata per fonction (remainder pro rata of the whole). Default: the rulebook's choice.":
        "Option I4CE pour les frais de personnel : 3a au prorata de toutes les autres dépenses, 3b au prorata par fonction (le reste au prorata de l'ensemble). Par défaut : le choix du livre de règles.",
    "Reading profile of a CSV/XLSX export (id of a shipped profile or path to a YAML profile); detected from the headers when omitted.":
        "Profil de lecture d'un export CSV/XLSX (identifiant d'un profil fourni ou chemin d'un profil YAML) ; reconnu d'après les en-têtes s'il est omis.",
    'Column of a CSV/XLSX export that holds ROLE, when its header is not recognised, e.g. --map sens=Mouvement --map amount="Montant TTC" (repeatable; roles: the line-model columns, amount, executed, voted…).':
        'Colonne d\'un export CSV/XLSX qui porte le RÔLE, quand son en-tête n\'est pas reconnu, par ex. --map sens=Mouvement --map amount="Montant TTC" (répétable ; rôles : les colonnes du modèle de ligne, amount, executed, voted…).',
    "Value of a line-model column the CSV/XLSX export does not carry, e.g. --set nomenclature=M57 --set budget_kind=principal (repeatable; the file's own values win).":
        "Valeur d'une colonne du modèle de ligne que l'export CSV/XLSX ne porte pas, par ex. --set nomenclature=M57 --set budget_kind=principal (répétable ; les valeurs du fichier priment).",
    "Amount used: executed for a CA/CFU, voted for BP/BS/DM by default.":
        "Montant retenu : par défaut l'exécuté pour un CA/CFU, le voté pour un BP/BS/DM.",
    "Sheet of an XLSX/ODS/XLS workbook to read (default: the visible sheet whose header matches best). A hidden sheet is read only when named here.":
        "Feuille à lire d'un classeur XLSX/ODS/XLS (par défaut : la feuille visible dont l'en-tête correspond le mieux). Une feuille masquée n'est lue que si elle est nommée ici.",
    "Raise a limit on input files (repeatable): file-mb, unzipped-mb, zip-ratio, rows, columns, cells, cell-chars; also BUDGETCLIMAT_LIMIT_<NAME>. Defaults: 200 MB on disk, 200 MB unzipped, ratio 100, 1,000,000 rows, 1,000 columns, 10,000,000 cells, 32,767 characters per cell.":
        "Relever une limite sur les fichiers lus (répétable) : file-mb, unzipped-mb, zip-ratio, rows, columns, cells, cell-chars ; aussi BUDGETCLIMAT_LIMIT_<NOM>. Par défaut : 200 Mo sur disque, 200 Mo décompressés, ratio 100, 1 000 000 de lignes, 1 000 colonnes, 10 000 000 de cellules, 32 767 caractères par cellule.",
    "Compare budget files of several years: weighted shares per objective, combined share, tCO2e vs cap.":
        "Comparer les budgets de plusieurs exercices : parts pondérées par objectif, part combinée, tCO2e face au plafond.",
    "Rulebook YAML (repeatable), as for classify; may include a weights and a carbon rulebook.":
        "Livre de règles YAML (répétable), comme pour classify ; peut inclure un livre de pondérations et un livre carbone.",
    "Answers and overrides (repeatable).": "Réponses et classements manuels (répétable).",
    "Weights rulebook (default: the I4CE-classes convention).": "Livre de pondérations (par défaut : la convention des classes I4CE).",
    "Carbon rulebook (default: M57/M14 accounts to ADEME 2023 ratios).": "Livre carbone (par défaut : comptes M57/M14 vers les ratios ADEME 2023).",
    "Trajectory YAML: shows each year's cap beside the budget's direct emissions.":
        "Trajectoire YAML : affiche le plafond de chaque année à côté des émissions directes du budget.",
    "List the catalogue of findings and errors (code, title, message template), or only CODES.":
        "Lister le catalogue des constats et erreurs (code, titre, modèle de message), ou seulement les CODES donnés.",
    "Text or JSON.": "Texte ou JSON.",
    "Explain how one line was classified: every rule tried, in order, and why it matched or not.":
        "Expliquer le classement d'une ligne : chaque règle essayée, dans l'ordre, et pourquoi elle s'applique ou non.",
    "Line id (as in the register: 2018CA-00-00042).": "Identifiant de la ligne (comme dans le registre : 2018CA-00-00042).",
    "Check rulebooks and see which rules decide what.": "Vérifier les livres de règles et voir quelles règles décident quoi.",
    "Euros and lines decided by each rule, per axis, and the lines no rule matched.":
        "Euros et lignes décidés par chaque règle, par axe, et les lignes qu'aucune règle ne couvre.",
    "Lint rulebooks (default: the shipped ones): unknown accounts, shadowed rules, missing or failing cases…\n\n    Exit code 1 when a problem of level error is found, 2 when a rulebook does not load.\n    ":
        "Contrôler les livres de règles (par défaut : ceux fournis) : comptes inconnus, règles masquées, cas manquants ou en échec…\n\n"
        "Code de sortie 1 quand un problème de niveau erreur est trouvé, 2 quand un livre ne se charge pas.",
    "Check budget files: codes, accounts against the plan de comptes, totals against the source.\n\n    FILES are budget files, folders or quoted glob patterns ('data/*.csv'), as for classify.\n\n    Exit code 0 when no finding is an error, 1 when the data have errors, 2 on a usage error.\n    ":
        "Contrôler des fichiers budgétaires : codes, comptes face au plan de comptes, totaux face à la source.\n\n"
        "FILES : des fichiers budgétaires, des dossiers ou des motifs entre guillemets ('donnees/*.csv'), comme pour classify.\n\n"
        "Code de sortie 0 quand aucun constat n'est une erreur, 1 quand les données ont des erreurs, 2 en cas d'erreur d'utilisation.",
    "Output on stdout: human-readable text, JSON, or CSV (findings only).":
        "Sortie à l'écran : texte lisible, JSON, ou CSV (constats seulement).",
    "Also write the full report to this file: CSV (findings) if it ends in .csv, JSON if .json. Written atomically; never an input file.":
        "Écrire aussi le rapport complet dans ce fichier : CSV (constats) s'il finit par .csv, JSON par .json. Écriture atomique ; jamais un fichier lu.",
    "Lowest level of findings listed (error: errors only). The exit code ignores it.":
        "Niveau le plus bas des constats listés (error : erreurs seulement). Le code de sortie n'en dépend pas.",
}

_CLICK_MODULES = ("core", "exceptions", "formatting", "parser", "types", "decorators", "termui", "utils", "_termui_impl", "shell_completion")
_ORIGINAL: dict = {}
_LANG = {"value": "fr"}


def _gettext(message: str) -> str:
    return CLICK_FR.get(message, message) if _LANG["value"] == "fr" else message


def _ngettext(singular: str, plural: str, n: int) -> str:
    if _LANG["value"] == "fr" and singular in CLICK_FR_PLURAL:
        one, many = CLICK_FR_PLURAL[singular]
        return one if n == 1 else many
    return singular if n == 1 else plural


def help_text(text: str | None) -> str | None:
    """The help text of a command or option in the current language."""
    if text is None or _LANG["value"] != "fr":
        return text
    return HELP_FR.get(text, text)


def install(lang: str) -> None:
    """Use ``lang`` for click's words and every help text (idempotent)."""
    _LANG["value"] = lang
    if _ORIGINAL:
        return
    for name in _CLICK_MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - a click without that module
            continue
        for attr, replacement in (("_", _gettext), ("ngettext", _ngettext)):
            if hasattr(module, attr):
                _ORIGINAL[(name, attr)] = getattr(module, attr)
                setattr(module, attr, replacement)
    _patch_help()


def _patch_help() -> None:
    option_record = click.Option.get_help_record
    command_help = click.Command.format_help_text
    short_help = click.Command.get_short_help_str

    def get_help_record(self, ctx):
        original = self.help
        self.help = help_text(original)
        try:
            return option_record(self, ctx)
        finally:
            self.help = original

    def format_help_text(self, ctx, formatter):
        original = self.help
        self.help = inspect.cleandoc(help_text(original)) if original else original
        try:
            return command_help(self, ctx, formatter)
        finally:
            self.help = original

    def get_short_help_str(self, limit: int = 45) -> str:
        original = self.help
        self.help = help_text(original)
        try:
            return short_help(self, limit)
        finally:
            self.help = original

    click.Option.get_help_record = get_help_record
    click.Command.format_help_text = format_help_text
    click.Command.get_short_help_str = get_short_help_str


def language_from_argv(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--lang X`` / ``--lang=X`` wherever it is in ``argv`` (before or after the subcommand): the
    language and ``argv`` with that option moved to the front, where the group reads it. An option value
    equal to ``--lang`` (after ``-o``…) is not mistaken: only the first occurrence is taken, and one
    with no value is left for click to report."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
            del out[i]
            return value, ["--lang", value, *out]
        if arg == "--lang" and i + 1 < len(out):
            value = out[i + 1]
            del out[i : i + 2]
            return value, ["--lang", value, *out]
    return None, out
