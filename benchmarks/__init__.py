"""Speed and memory figures (`make bench`): world generation, the Stripe load, dbt builds and
the contract checks, each with peak memory (`memory`) beside the time."""
