"""`python -m restorefw` runs the command-line interface."""

from restorefw.cli import main

main()
