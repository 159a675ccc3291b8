from budgetclimat.cli import main

main()
