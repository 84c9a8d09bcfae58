"""`python -m generator` is the `valgen` command."""

from generator.cli import main

raise SystemExit(main())
