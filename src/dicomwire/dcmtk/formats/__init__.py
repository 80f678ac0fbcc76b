"""DCMTK's output formats: dcmdump, dcm2xml, DIMSE and association dumps."""
