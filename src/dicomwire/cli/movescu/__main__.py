"""``python -m dicomwire.cli.movescu``."""

from dicomwire.cli.movescu import main

raise SystemExit(main())
