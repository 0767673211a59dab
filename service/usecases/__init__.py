"""Use cases: each opens a unit of work, applies the domain's rules, commits. No grpc, no SQL."""
