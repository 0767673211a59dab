"""The runtime: settings wiring (bootstrap, the one composition root), servers, lifecycle, CLI."""
