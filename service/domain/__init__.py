"""Pure domain: values, rules and errors. Imports neither grpc nor sqlalchemy."""
