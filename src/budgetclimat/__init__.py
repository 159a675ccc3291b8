"""budgetclimat: climate budgeting of French local-government budgets.

The pipeline, one package per stage, data flowing one way:
read (TOTEM, CSV, XLSX) -> canonical line frame (``model``) -> ``validate`` / ``reconcile``
-> ``rulebook`` (what rules say) + ``engine`` (how they are evaluated) -> ``views``
(coloured, weighted, carbon) -> ``export`` (workbook, register).
"""

__version__ = "0.1.0"
