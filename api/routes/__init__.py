"""Route modules, one per caller role."""
