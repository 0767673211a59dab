"""gRPC servicers: each method turns the request into a use-case call and the result into a response."""
