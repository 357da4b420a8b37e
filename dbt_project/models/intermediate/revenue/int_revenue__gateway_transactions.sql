{#- The SQL lives in macros/revenue/revenue_gateway_transactions.sql: this view shows every row (for
    analysis and tests); int_revenue__entries runs the same SQL on just the customers a build
    recomputes. -#}

{{ revenue_gateway_transactions(scoped=false) }}
