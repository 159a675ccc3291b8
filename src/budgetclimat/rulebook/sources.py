"""Rationales written for a reader: the I4CE tables a rule cites by image file (``energie_achats.png, cell
84``, as the transcription names them) are shown by their title and row (« tableau I4CE « Achats
d'énergie », ligne 84 »), in French or English. The rulebooks keep the file names: they are the key
to ``rules/i4ce-2022/tables-transcribed.csv``."""

from __future__ import annotations

import pandas as pd

from budgetclimat import i18n

# Image of the I4CE 2022 technical annex -> the table's title as a reader names it (French: I4CE publishes
# in French only).
TABLE_TITLES = {
    "batiment_construction": "Bâtiments neufs (construction)",
    "batiment_renovation": "Rénovation des bâtiments",
    "batiment_entretien": "Maintenance technique des bâtiments",
    "transport_voirie": "Voirie",
    "transport_achat": "Achat de véhicules",
    "transport_entretien": "Entretien des véhicules",
    "transport_collectif": "Transports collectifs",
    "transport_ferroviaire": "Transport ferroviaire",
    "transport_fluvial": "Transport fluvial",
    "transport_maritime": "Transport maritime",
    "transport_aerien": "Transport aérien",
    "energie_achats": "Achats d'énergie",
    "energie_infra_production": "Infrastructures de production d'énergie",
    "energie_infra_distribution": "Infrastructures de transport et de distribution d'énergie",
    "espaces_verts": "Espaces verts",
    "alimentation": "Alimentation",
    "dechets_gestion": "Gestion des déchets",
    "rh_frais_deplacement": "Frais de déplacement",
    "rh_formation_pro": "Formation professionnelle",
    "rh_depense_personnel": "Dépenses de personnel",
    "action_économique": "Action économique",
    "action_economique": "Action économique",
    "autre_subvention": "Subventions",
    "autre_commande_public": "Commande publique",
    "autre_NTIC": "Numérique (NTIC)",
    "autre_paiement_taxe": "Paiement de taxes",
    "agriculture_aide_exploitation": "Aides aux exploitations agricoles",
    "agriculture_batiment_contruction_reno": "Bâtiments agricoles",
    "agriculture_circuit_court": "Circuits courts",
    "agriculture_efficacite_nrj": "Efficacité énergétique agricole",
    "agriculture_foret": "Forêt",
    "agriculture_production_nrj": "Production d'énergie renouvelable agricole",
    "biodiversite": "Biodiversité",
}


def readable(text: pd.Series, lang: str | None = None) -> pd.Series:
    """Rationales with image file names and « cell(s) N » replaced by table titles and rows (vectorised)."""
    out = text.astype("string")
    for image, title in TABLE_TITLES.items():
        out = out.str.replace(f"I4CE 2022, {image}.png", "I4CE 2022, " + i18n.t("source.table-short", lang, title=title), regex=False)
        out = out.str.replace(f"{image}.png", i18n.t("source.table", lang, title=title), regex=False)
    out = out.str.replace(r"\bcells\b", i18n.t("source.rows", lang), regex=True)
    out = out.str.replace(r"\bcell\b", i18n.t("source.row", lang), regex=True)
    return out
