"""Use cases: one function per verb, each `with uow:` → lock and read → domain rule → write → commit."""
