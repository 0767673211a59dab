"""Build tools: they run from a checkout (python -m tools.<name>) and never ship in the wheel."""
