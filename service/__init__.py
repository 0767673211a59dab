"""ERP order service: gRPC servicers, REST gateway and bootstrap over the domain and storage."""
