"""Brazilian taxpayer documents: a CPF (11 digits) or a CNPJ (14 digits) and their check digits."""

from __future__ import annotations

from service.domain.errors import FieldViolation, InvalidArgument

# Each check digit weighs the digits before it (the first check digit included, for the second).
_WEIGHTS = {
    9: (tuple(range(10, 1, -1)), tuple(range(11, 1, -1))),  # CPF
    12: ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)),  # CNPJ
}


def _digit(digits: list[int], weights: tuple[int, ...]) -> int:
    rest = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if rest < 2 else 11 - rest


def check_digits(body: str) -> str:
    """The two check digits that complete a CPF (9 digits given) or a CNPJ (12 digits given)."""
    digits = [int(c) for c in body]
    first_weights, second_weights = _WEIGHTS[len(body)]
    first = _digit(digits, first_weights)
    return f"{first}{_digit([*digits, first], second_weights)}"


def is_valid(document: str) -> bool:
    """A CPF or CNPJ whose check digits match. Repeated digits (000.000.000-00 & co.) satisfy the
    arithmetic but are never issued, and the Receita Federal refuses them too."""
    if len(document) not in (11, 14) or not document.isascii() or not document.isdigit() or len(set(document)) == 1:
        return False
    return check_digits(document[:-2]) == document[-2:]


def ensure_valid(document: str, field: str = "document") -> None:
    """Raises InvalidArgument, rule DOCUMENT_CHECK_DIGITS, for a document whose check digits do not match."""
    if not is_valid(document):
        kind = "CPF" if len(document) == 11 else "CNPJ"
        raise InvalidArgument(
            [FieldViolation(field, f"is not a valid {kind}: its check digits do not match", "DOCUMENT_CHECK_DIGITS")]
        )
