"""Loading: one dlt source per source system (ingestion/<folder>/, named in core.sources),
its data contracts (`contracts.py`: data_contracts/ -> dlt hints and row checks, rejects
quarantined with the reason), the tuned dlt pipeline of each source (`pipelines.py`) and
`run.load`, which loads one source and reports what it did. Below it: core only."""
