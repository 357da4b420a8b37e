"""Stripe into `raw_stripe` through the official SDK: the key and a request budget (`api`),
the resources read and their contracts (`resources`), the dlt source with incremental
loading by events (`source`) and the load with its report (`load`)."""
