"""``python -m rlscale`` is the ``rlscale`` command."""

from rlscale.cli.app import main

main()
