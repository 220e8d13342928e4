"""``python -m ehub`` is the ``ehub`` command."""

from ehub.cli import main

raise SystemExit(main())
