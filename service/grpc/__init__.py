"""The gRPC edge: servicers, interceptors, the status mapping, conversions, request checks, paging."""
