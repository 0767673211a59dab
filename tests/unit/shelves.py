"""A small test-only API that uses the google.api.http features our own contract does not (yet)."""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2, field_mask_pb2, timestamp_pb2
from google.protobuf.descriptor import ServiceDescriptor
from google.type import money_pb2

# Imported for their side effect: the files our test proto imports must be in the pool first.
_DEPENDENCIES = (annotations_pb2, empty_pb2, field_mask_pb2, timestamp_pb2, money_pb2)

PROTO = """
syntax = "proto3";
package gatewaytest.v1;

import "google/api/annotations.proto";
import "google/api/field_behavior.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "google/type/money.proto";

// Keeps shelves.
service ShelfService {
  // Reads a shelf.
  rpc GetShelf(GetShelfRequest) returns (Shelf) {
    option (google.api.http) = {
      get: "/v1/{name=shelves/*}"
      additional_bindings {get: "/v1/{name=shelves/*}/alias"}
    };
  }
  // Creates a shelf.
  rpc CreateShelf(Shelf) returns (Shelf) {
    option (google.api.http) = {post: "/v1/shelves" body: "*"};
  }
  // Updates a shelf.
  rpc UpdateShelf(UpdateShelfRequest) returns (Shelf) {
    option (google.api.http) = {patch: "/v1/{shelf.name=shelves/*}" body: "shelf"};
  }
  // Removes a shelf.
  rpc DeleteShelf(GetShelfRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = {delete: "/v1/{name=shelves/*}"};
  }
  // Counts a shelf's books.
  rpc CountBooks(CountBooksRequest) returns (Shelf) {
    option (google.api.http) = {post: "/v1/{name=shelves/*}:count" body: "*" response_body: "count"};
  }
  rpc NotOverHttp(GetShelfRequest) returns (Shelf);
}

enum Kind {
  KIND_UNSPECIFIED = 0;
  KIND_BIG = 1;
}

message Inner {
  string code = 1;
  repeated int32 nums = 2;
}

// A shelf.
message Shelf {
  // Its resource name, "shelves/{id}".
  string name = 1 [(google.api.field_behavior) = OUTPUT_ONLY];
  string theme = 2 [(google.api.field_behavior) = REQUIRED];
  int64 count = 3;
  Kind kind = 4;
}

message GetShelfRequest {
  string name = 1;
  repeated string tags = 2;
  Kind kind = 3;
  google.protobuf.Timestamp since = 4;
  google.type.Money price = 5;
  Inner inner = 6;
  google.protobuf.FieldMask mask = 7;
  bool open = 8;
  int64 big = 9;
  repeated Inner inners = 10;
}

message UpdateShelfRequest {
  Shelf shelf = 1;
  google.protobuf.FieldMask update_mask = 2;
}

message CountBooksRequest {
  string name = 1;
  string genre = 2;
}
"""


@functools.cache
def service() -> ServiceDescriptor:
    """Compiles PROTO once per process and adds it to the default pool."""
    site_packages = Path(annotations_pb2.__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "gatewaytest.proto").write_text(PROTO)
        out = Path(tmp, "set.binpb")
        command = [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp}", f"-I{site_packages}", f"--descriptor_set_out={out}", "gatewaytest.proto"]
        subprocess.run(command, check=True, capture_output=True)
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.Default()
    return pool.AddSerializedFile(files.file[0].SerializeToString()).services_by_name["ShelfService"]
