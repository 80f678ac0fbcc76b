"""``python -m dicomwire.cli.getscu``."""

from dicomwire.cli.getscu import main

raise SystemExit(main())
