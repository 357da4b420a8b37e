"""Daily FX rates (fx_rates.csv) into `raw_fx`."""

from .load import load_fx_rates

__all__ = ["load_fx_rates"]
