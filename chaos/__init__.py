"""The fault harness: random concurrent clients, injected faults, a history and a checker (python -m chaos)."""
