"""great-expectations suites generated from the data contracts (`data_contracts/raw_*/`).

Each contract column gives: the column must exist; not null unless `nullable`; values in
`allowed_values`; between `minimum` / `maximum`; matching `pattern`. The primary key gives
a uniqueness expectation (one column or compound). Column and table names are normalized
the way dlt names them in the warehouse (snake_case); the contracts only govern top-level
columns, so no `__` flattening is involved (child tables would be contracts of their own,
named `<table>__<field>`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.contracts import CONTRACTS_DIR, Contract, parse

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite

RAW_GLOB = "raw_*/*.yml"


@dataclass(frozen=True)
class ContractTable:
    """One contract file and the warehouse table it governs."""

    dataset: str  # e.g. "raw_stripe"
    table: str  # e.g. "invoices", as dlt names it in the warehouse
    path: Path

    @property
    def suite_name(self) -> str:
        return f"contract.{self.dataset}.{self.table}"

    @property
    def contract(self) -> Contract:
        return _parse(self.path)

    @property
    def key(self) -> tuple[str, ...]:
        """Primary-key columns as named in the warehouse."""
        return tuple(normalize(c) for c in self.contract.primary_key)


@cache
def _parse(path: Path) -> Contract:
    return parse(path)


@cache
def _naming():
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention()


@cache
def normalize(identifier: str) -> str:
    """A contract name as dlt writes it in the warehouse (snake_case; `__` kept as the
    nesting separator)."""
    return _naming().normalize_path(identifier)


def _has_rules(contract: Contract) -> bool:
    return bool(contract.primary_key) or any(
        not c.nullable
        or c.allowed_values is not None
        or c.pattern
        or c.minimum is not None
        or c.maximum is not None
        for c in contract.columns.values()
    )


def contract_tables(contracts_dir: Path | None = None) -> list[ContractTable]:
    """Every contract under `data_contracts/raw_*/` that states at least one rule,
    quarantine (`*_rejects`) tables included, sorted by dataset and table."""
    folder = Path(contracts_dir) if contracts_dir is not None else CONTRACTS_DIR
    out = []
    for path in sorted(folder.glob(RAW_GLOB)):
        contract = _parse(path)
        if _has_rules(contract):
            out.append(ContractTable(contract.dataset, normalize(contract.table), path))
    return out


def find_table(dataset: str, table: str) -> ContractTable:
    for item in contract_tables():
        if item.dataset == dataset and item.table == table:
            return item
    raise LookupError(f"no data contract for {dataset}.{table} under {CONTRACTS_DIR}")


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def build_suite(table: ContractTable) -> ExpectationSuite:
    """The expectation suite of one contract table (not added to any context)."""
    # imported here: listing the contract tables (the Dagster definitions do, at every
    # start) must not pay for great-expectations' import, about half of their load time
    import great_expectations as gx
    from great_expectations.core import ExpectationSuite

    contract = table.contract
    expectations: list = []
    for name, col in contract.columns.items():
        column = normalize(name)
        expectations.append(gx.expectations.ExpectColumnToExist(column=column))
        if not col.nullable:
            expectations.append(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
        if col.allowed_values is not None:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=column, value_set=list(col.allowed_values)
                )
            )
        if col.minimum is not None or col.maximum is not None:
            expectations.append(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=column,
                    min_value=_number(col.minimum) if col.minimum is not None else None,
                    max_value=_number(col.maximum) if col.maximum is not None else None,
                )
            )
        if col.pattern:
            expectations.append(
                gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=col.pattern)
            )
    key = table.key
    if len(key) == 1:
        expectations.append(gx.expectations.ExpectColumnValuesToBeUnique(column=key[0]))
    elif key:
        expectations.append(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(key)))
    return ExpectationSuite(name=table.suite_name, expectations=expectations)
