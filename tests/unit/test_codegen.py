"""Tests for tools.codegen: the rendered validate.proto and the committed generated code."""

import shutil
import subprocess
import sys
from pathlib import Path

import protovalidate

from service import buf_validate
from tools import codegen


def test_rendered_validate_proto_compiles_to_the_embedded_descriptor(tmp_path: Path) -> None:
    codegen.render_validate(tmp_path)
    compiled = codegen.compile_descriptor(tmp_path, buf_validate.FILE_NAME)
    assert compiled == codegen.embedded_validate_descriptor()


def test_check_passes_on_the_committed_tree() -> None:
    command = [sys.executable, "-m", "tools.codegen", "--check"]
    result = subprocess.run(command, cwd=codegen.ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_stale_files_lists_edited_extra_and_missing_files(tmp_path: Path) -> None:
    fresh, committed = tmp_path / "fresh", tmp_path / "committed"
    fresh.mkdir()
    codegen.materialize()
    codegen.generate(fresh)
    shutil.copytree(fresh, committed)
    with (committed / "erp/orders/v1/order_pb2.py").open("a") as edited:
        edited.write("# hand edit\n")
    (committed / "extra.py").touch()
    (committed / codegen.DESCRIPTOR_SET).unlink()
    assert codegen.stale_files(fresh, committed) == [
        codegen.DESCRIPTOR_SET,
        "erp/orders/v1/order_pb2.py",
        "extra.py",
    ]


def test_generated_messages_carry_their_validation_rules() -> None:
    from service._gen.erp.orders.v1 import order_pb2

    violations = protovalidate.Validator().collect_violations(order_pb2.CreateOrderRequest())
    fields = {v.proto.field.elements[0].field_name for v in violations if v.proto.field}
    assert len(violations) == 2
    assert fields == {"customer_id", "items"}
