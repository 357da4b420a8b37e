"""Cost sheets (finance CSVs, marketing XLSX workbooks) into `raw_costs`."""

from .load import load_cost_sheets

__all__ = ["load_cost_sheets"]
