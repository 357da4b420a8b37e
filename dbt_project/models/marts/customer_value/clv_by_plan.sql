{#- Lifetime value by plan on the as-of date (see macros/customer_value/clv_by_segment.sql). -#}
{{ clv_by_segment('plan') }}
