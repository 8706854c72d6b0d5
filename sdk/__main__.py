"""``python -m tracerail`` runs the ``tracerail`` command."""

from tracerail._cli import main

main()
