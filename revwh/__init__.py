"""The `revwh` command line (Typer), thin over the layers below: `run`/`demo` materialize the
Dagster graph in-process (`pipeline.py`, `demo.py`), `load` calls the loaders, `reconcile`
loads ChartMogul and builds the reconciliation marts (`reconcile.py`), `kpis` and `semantic`
read the built warehouse, `progress.py` prints a run's progress."""
