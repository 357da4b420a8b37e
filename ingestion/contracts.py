"""Data contracts: one YAML file per source table under `data_contracts/<dataset>/`.

A contract names the table's columns (type, nullability, allowed values, pattern,
description), its primary key and its dlt schema-contract mode. It is the one definition
of each rule: loaders turn it into dlt column hints and a row validator, and the quality
checks of the orchestration layer are generated from the same files.

    table: cost_sheet_rows
    dataset: raw_costs
    description: ...
    primary_key: [row_id]
    schema_contract: {tables: evolve, columns: freeze, data_type: freeze}
    columns:
      amount: {type: decimal, precision: 18, scale: 2, nullable: false, minimum: 0}
      currency: {type: text, nullable: false, pattern: "^[A-Z]{3}$"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "data_contracts"
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "bigint": (int,),
    "bool": (bool,),
    "double": (int, float),
}
TYPES = ("text", "bigint", "decimal", "bool", "date", "timestamp", "json", "double")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    allowed_values: tuple | None = None
    pattern: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    precision: int | None = None
    scale: int | None = None

    def dlt_hint(self) -> dict[str, Any]:
        hint: dict[str, Any] = {"data_type": self.type, "nullable": self.nullable}
        if self.description:
            hint["description"] = self.description
        if self.type == "decimal":
            hint["precision"], hint["scale"] = self.precision or 18, self.scale or 2
        if self.type == "timestamp":
            hint["timezone"] = True
        return hint

    def check(self, value: Any) -> str | None:
        """Why `value` breaks this column's rules, or None. Values are already typed."""
        if value is None or value == "":
            return None if self.nullable else f"{self.name} is missing"
        if self.allowed_values is not None and value not in self.allowed_values:
            return f"{self.name} {value!r} is not one of {', '.join(map(str, self.allowed_values))}"
        if self.pattern and not re.fullmatch(self.pattern, str(value)):
            return f"{self.name} {value!r} does not match {self.pattern}"
        if self.minimum is not None and Decimal(value) < self.minimum:
            return f"{self.name} {value} is below {self.minimum}"
        if self.maximum is not None and Decimal(value) > self.maximum:
            return f"{self.name} {value} is above {self.maximum}"
        return None


@dataclass(frozen=True)
class Contract:
    table: str
    dataset: str
    description: str
    primary_key: tuple[str, ...]
    columns: dict[str, Column]
    schema_contract: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def dlt_columns(self) -> dict[str, dict[str, Any]]:
        out = {name: col.dlt_hint() for name, col in self.columns.items()}
        for name in self.primary_key:
            out[name]["primary_key"] = True
        return out

    def coerce(self, row: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Typed copy of a raw row (text from a file) and the reasons it breaks the contract."""
        typed: dict[str, Any] = {}
        reasons: list[str] = []
        for name, col in self.columns.items():
            raw = row.get(name)
            try:
                value = _convert(raw, col.type)
            except (ValueError, InvalidOperation, TypeError):
                reasons.append(f"{name} {raw!r} is not a valid {col.type}")
                typed[name] = None
                continue
            typed[name] = value
            problem = col.check(value)
            if problem:
                reasons.append(problem)
        return typed, reasons

    def validate(self, row: dict[str, Any]) -> list[str]:
        return self.coerce(row)[1]

    def check_typed(self, row: dict[str, Any]) -> list[str]:
        """Reasons an already-typed row (e.g. parsed JSON) breaks the contract: the fast
        path for API objects, which need no conversion from text."""
        reasons = []
        for name, col in self.columns.items():
            value = row.get(name)
            if value is None:
                if not col.nullable:
                    reasons.append(f"{name} is missing")
                continue
            expected = _JSON_TYPES.get(col.type)
            if expected and (
                not isinstance(value, expected)
                or (col.type in ("bigint", "double") and isinstance(value, bool))
            ):
                reasons.append(f"{name} {value!r} is not a valid {col.type}")
                continue
            if (
                col.allowed_values
                or col.pattern
                or col.minimum is not None
                or col.maximum is not None
            ):
                problem = col.check(value)
                if problem:
                    reasons.append(problem)
        return reasons


def _convert(raw: Any, type_: str) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if type_ == "text":
        return str(raw).strip()
    if type_ == "decimal":
        if isinstance(raw, float):
            raw = repr(raw)  # a spreadsheet float: keep its shortest exact text
        text = str(raw).strip()
        if "," in text:  # thousands separators only: "1,234.50" yes, "1,5" no
            if not _THOUSANDS.fullmatch(text):
                raise ValueError(raw)
            text = text.replace(",", "")
        value = Decimal(text)
        if not value.is_finite():
            raise ValueError(raw)
        return value
    if type_ == "bigint":
        if isinstance(raw, bool):
            raise TypeError(raw)
        value = Decimal(str(raw).strip())
        if value != value.to_integral_value():
            raise ValueError(raw)
        return int(value)
    if type_ == "date":
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        text = str(raw).strip()
        if len(text) > 10:  # a timestamp is fine, trailing junk is not
            return datetime.fromisoformat(text).date()
        return date.fromisoformat(text)
    if type_ == "timestamp":
        if isinstance(raw, datetime):
            return raw
        return datetime.fromisoformat(str(raw).strip())
    if type_ == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "t"):
            return True
        if text in ("false", "0", "no", "f"):
            return False
        raise ValueError(raw)
    if type_ == "double":
        return float(raw)
    return raw


def _column(name: str, spec: dict[str, Any]) -> Column:
    if spec.get("type") not in TYPES:
        raise ValueError(f"column {name}: type must be one of {', '.join(TYPES)}")
    allowed = spec.get("allowed_values")
    return Column(
        name=name,
        type=spec["type"],
        nullable=bool(spec.get("nullable", True)),
        description=spec.get("description", ""),
        allowed_values=tuple(allowed) if allowed is not None else None,
        pattern=spec.get("pattern"),
        minimum=Decimal(str(spec["minimum"])) if "minimum" in spec else None,
        maximum=Decimal(str(spec["maximum"])) if "maximum" in spec else None,
        precision=spec.get("precision"),
        scale=spec.get("scale"),
    )


def parse(path: Path) -> Contract:
    doc = yaml.safe_load(path.read_text())
    try:
        columns = {name: _column(name, spec) for name, spec in doc["columns"].items()}
        contract = Contract(
            table=doc["table"],
            dataset=doc["dataset"],
            description=doc.get("description", ""),
            primary_key=tuple(doc.get("primary_key") or ()),
            columns=columns,
            schema_contract=dict(doc.get("schema_contract") or {}),
            path=path,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid data contract {path}: {exc}") from exc
    missing = set(contract.primary_key) - set(columns)
    if missing:
        raise ValueError(f"invalid data contract {path}: primary key {missing} not a column")
    return contract


@cache
def load(dataset: str, table: str) -> Contract:
    path = CONTRACTS_DIR / dataset / f"{table}.yml"
    if not path.exists():
        raise FileNotFoundError(f"no data contract for {dataset}.{table} at {path}")
    return parse(path)
