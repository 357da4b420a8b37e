"""Data-contract quality checks: great-expectations suites generated from
`data_contracts/raw_*/`, validated over whole raw tables of the DuckDB warehouse."""

from orchestration.quality.expectations import ContractTable, build_suite, contract_tables
from orchestration.quality.results import ContractValidation, ExpectationFailure
from orchestration.quality.validate import validate_contract_table

__all__ = [
    "ContractTable",
    "ContractValidation",
    "ExpectationFailure",
    "build_suite",
    "contract_tables",
    "validate_contract_table",
]
