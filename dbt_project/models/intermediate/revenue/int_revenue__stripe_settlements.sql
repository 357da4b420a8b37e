{#- The SQL lives in macros/revenue/revenue_stripe_settlements.sql: this view shows every row (for
    analysis and tests); int_revenue__entries runs the same SQL on just the customers a build
    recomputes. -#}

{{ revenue_stripe_settlements(scoped=false) }}
