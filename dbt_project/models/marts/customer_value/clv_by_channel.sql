{#- Lifetime value by acquisition channel on the as-of date: the `channel:` segments of
    int_customer_value__segments_as_of. -#}

with segments as (

    select * from {{ ref('int_customer_value__segments_as_of') }}
    where segment_kind = 'channel'

),

final as (

    select
        segment,
        segment_value as channel,
        as_of_date,
        paying_customers,
        customers_ever_paid,
        mrr,
        arpa,
        customer_churn_rate,
        churn_window_months,
        expected_lifetime_months,
        gross_margin,
        ltv,
        ltv_data_quality,
        realised_revenue,
        realised_revenue_per_customer,
        avg_active_months,
        cac,
        cac_data_quality,
        clv_cac_ratio,
        cac_payback_months,
        reporting_currency,
        data_quality,
        reason,
        method
    from segments

)

select * from final
