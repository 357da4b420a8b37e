"""Data-contract quality checks: great-expectations suites generated from
`data_contracts/raw_*/`, validated over whole raw tables of the warehouse (DuckDB in chunks
through GX's pandas datasource, PostgreSQL through GX's SQL datasource)."""

from quality.expectations import ContractTable, build_suite, contract_tables
from quality.results import ContractValidation, ExpectationFailure
from quality.validate import validate_contract_table

__all__ = [
    "ContractTable",
    "ContractValidation",
    "ExpectationFailure",
    "build_suite",
    "contract_tables",
    "validate_contract_table",
]
