"""W3C Data Integrity (eddsa-rdfc-2022)."""
