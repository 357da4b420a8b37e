"""The outside world, simulated so everything runs offline with the real SDKs: a SaaS
business (`world/`), and stand-ins that speak the Stripe and ChartMogul APIs (`stripe/`,
`chartmogul/`). Nothing in the product imports it; only the CLI's demo and replay start it."""
