"""DCMTK's command-line engine and the option groups the tools share."""
