"""ul layer."""
