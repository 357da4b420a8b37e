{#- The SQL lives in macros/mrr/mrr_gateway_segments.sql: this view shows every row (for analysis and
    unit tests); int_mrr__segments runs the same SQL on just the customers a build
    recomputes. -#}

{{ mrr_gateway_segments(scoped=false) }}
