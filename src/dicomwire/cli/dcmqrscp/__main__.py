"""``python -m dicomwire.cli.dcmqrscp``."""

from dicomwire.cli.dcmqrscp import main

raise SystemExit(main())
