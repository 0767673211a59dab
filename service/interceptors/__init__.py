"""Server interceptors, one job each. Their order is declared once, in service.server."""
