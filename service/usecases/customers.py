"""Customer use cases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from service.domain import documents, rules
from service.domain.model import Customer, Page, PageResult, PostalAddress
from service.domain.ports import CustomerFilter, UnitOfWork


def create_customer(
    uow: UnitOfWork, name: str, document: str, email: str, phone: str, address: str, postal_address: PostalAddress | None = None
) -> Customer:
    """The document's check digits are verified here, on create: it is immutable afterwards, and rows
    stored before the check existed are kept as they are."""
    documents.ensure_valid(document)
    now = datetime.now(UTC)
    with uow:
        customer = uow.customers.add(
            Customer("", name, document, rules.email(email), phone, address, True, now, now, None, postal_address)
        )
        uow.commit()
    return customer


def get_customer(uow: UnitOfWork, customer_id: str) -> Customer:
    with uow:
        return uow.customers.get(customer_id)


def list_customers(uow: UnitOfWork, flt: CustomerFilter, page: Page) -> PageResult[Customer]:
    with uow:
        return uow.customers.list(flt, page)


def update_customer(uow: UnitOfWork, customer_id: str, changes: Mapping[str, Any]) -> Customer:
    rules.ensure_updatable("customer", changes, rules.CUSTOMER_UPDATABLE)
    if "email" in changes:
        changes = {**changes, "email": rules.email(str(changes["email"]))}
    with uow:
        customer = replace(uow.customers.lock(customer_id), **changes, update_time=datetime.now(UTC))
        uow.customers.save(customer)
        uow.commit()
    return customer


def delete_customer(uow: UnitOfWork, customer_id: str) -> Customer:
    with uow:
        customer = rules.soft_deleted(uow.customers.lock(customer_id), "customer", datetime.now(UTC))
        uow.customers.save(customer)
        uow.commit()
    return customer


def undelete_customer(uow: UnitOfWork, customer_id: str) -> Customer:
    with uow:
        customer = rules.undeleted(uow.customers.lock(customer_id), "customer", datetime.now(UTC))
        uow.customers.save(customer)
        uow.commit()
    return customer
