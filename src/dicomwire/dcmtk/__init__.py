"""DCMTK compatibility layer: command lines, log lines, dumps, file names and config formats."""
