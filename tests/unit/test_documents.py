"""CPF and CNPJ check digits."""

from __future__ import annotations

import pytest

from service.domain import documents
from service.domain.errors import InvalidArgument


@pytest.mark.parametrize("document", ["52998224725", "11144477735", "11222333000181", "04252011000110"])
def test_documents_whose_check_digits_match_are_valid(document: str) -> None:
    assert documents.is_valid(document)
    documents.ensure_valid(document)


@pytest.mark.parametrize(
    "document",
    ["12345678901", "52998224724", "11222333000182", "11111111111", "00000000000000", "5299822472", "529982247250", "５２９９８２２４７２５"],
    ids=["cpf digits", "cpf last digit", "cnpj last digit", "repeated cpf", "repeated cnpj", "10 digits", "12 digits", "full-width digits"],
)
def test_documents_with_wrong_check_digits_or_shape_are_not_valid(document: str) -> None:
    assert not documents.is_valid(document)


def test_a_refused_document_says_which_kind_it_is_not_and_why() -> None:
    with pytest.raises(InvalidArgument) as cpf:
        documents.ensure_valid("12345678901")
    with pytest.raises(InvalidArgument) as cnpj:
        documents.ensure_valid("11222333000182")
    assert [(v.field, v.description, v.reason) for v in cpf.value.violations + cnpj.value.violations] == [
        ("document", "is not a valid CPF: its check digits do not match", "DOCUMENT_CHECK_DIGITS"),
        ("document", "is not a valid CNPJ: its check digits do not match", "DOCUMENT_CHECK_DIGITS"),
    ]


def test_check_digits_complete_a_cpf_or_a_cnpj_body() -> None:
    assert documents.check_digits("529982247") == "25"
    assert documents.check_digits("112223330001") == "81"
