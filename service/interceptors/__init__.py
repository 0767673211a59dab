"""Server interceptors, one job each. Their order is declared once, in service.grpc_server."""
