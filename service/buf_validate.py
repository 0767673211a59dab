"""Registers buf/validate/validate.proto in the default protobuf pool, from protovalidate's copy."""

# No package ships validate.proto or a google.protobuf validate_pb2, but the protovalidate
# wheel embeds the file's serialized descriptor. Our generated _pb2 modules import this module
# in place of validate_pb2, so that the file is in the pool before theirs is added, and so that
# buf.validate options on our descriptors read back as extensions rather than unknown fields.

# descriptor_pb2, duration_pb2, field_mask_pb2 and timestamp_pb2 are imported only to put
# validate.proto's dependencies in the pool before it.
from google.protobuf import (  # noqa: F401
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    field_mask_pb2,
    timestamp_pb2,
)
from google.protobuf.internal import builder
from protovalidate._gen.buf.validate import validate_pb

FILE_NAME = "buf/validate/validate.proto"
SERIALIZED: bytes = validate_pb.desc().proto.to_binary()

_pool = descriptor_pool.Default()
try:
    # Idempotent: reuse the file if anything (a reload, another copy) registered it already.
    DESCRIPTOR = _pool.FindFileByName(FILE_NAME)
except KeyError:
    DESCRIPTOR = _pool.AddSerializedFile(SERIALIZED)

# Defines FieldRules, Ignore, the `field` extension, ... here, as a generated validate_pb2 would.
builder.BuildMessageAndEnumDescriptors(DESCRIPTOR, globals())
builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, __name__, globals())
