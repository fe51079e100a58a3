"""`python -m trashscan`."""

from trashscan.cli import main

main()
