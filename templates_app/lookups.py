"""The ``lookups()`` function templates call to translate codes into friendly values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, Q

from .models import LookupEntry


class LookupMiss(Exception):
    """A strict lookup found no value: the postback must not go out with a wrong one."""


class Lookups:
    """``lookups({"<template field>": key}, strict=True, default="")`` for one render.

    Each template field's table is read with one query the first time it is used in a render
    and kept for the rest of it, however many times a loop calls ``lookups``. A customer's
    own entries win over the workspace-wide table's entries for the same key.
    """

    def __init__(self, customer_id: int | None, *, misses_fail: bool = True) -> None:
        self.customer_id = customer_id
        # Off for sample data, whose codes are not any real customer's: a strict miss is then
        # only noted in ``misses`` and answers ``default``.
        self.misses_fail = misses_fail
        self.misses: list[str] = []
        self._tables: dict[str, dict[str, str]] = {}

    def __call__(self, query: Mapping[str, Any], strict: bool = True, default: Any = "") -> Any:
        if not isinstance(query, Mapping) or len(query) != 1:
            raise LookupMiss(
                'lookups() takes one {"field": value} pair, '
                'e.g. lookups({"shipmentMethodUid": fulfillment.carrierUid})'
            )
        ((field, key),) = query.items()
        key = "" if key is None else str(key)
        table = self._table(str(field))
        if key in table:
            return table[key]
        if strict and not self.misses_fail:
            self.misses.append(f'{field}: "{key}"')
        elif strict:
            if not table:
                raise LookupMiss(f'no lookup table for field "{field}" (looking up key "{key}")')
            raise LookupMiss(f'lookup table "{field}" has no entry for key "{key}"')
        return default

    def _table(self, field: str) -> dict[str, str]:
        if field not in self._tables:
            owner = Q(table__customer__isnull=True)
            if self.customer_id is not None:
                owner |= Q(table__customer_id=self.customer_id)
            rows = (
                LookupEntry.objects.filter(owner, table__template_field=field)
                # Workspace-wide rows (customer NULL) first, so the customer's own overwrite.
                .order_by(F("table__customer_id").asc(nulls_first=True))
                .values_list("key", "value")
            )
            self._tables[field] = dict(rows)
        return self._tables[field]
