"""The interceptor chain every call passes, outermost first (service/runtime/grpc_server.py)."""
