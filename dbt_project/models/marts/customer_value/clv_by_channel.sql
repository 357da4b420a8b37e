{#- Lifetime value by acquisition channel on the as-of date: the `channel:` segments of clv_segments_monthly
    in the as-of month, with what each segment's customers (those who have paid at some
    time, under their acquisition channel) have realised so far, from fct_customer_value. Each figure
    has its own data quality: an actual LTV stays actual beside a missing CAC. -#}

{%- set as_of = as_of_date() %}

with segment_values as (

    select * from {{ ref('clv_segments_monthly') }}
    where month = {{ month_start(as_of) }} and segment like 'channel:%'

),

customer_values as (

    select * from {{ ref('fct_customer_value') }}

),

customer_lifetimes as (

    -- realised_revenue is null for a customer with revenue lacking an exchange rate
    select
        'channel:' || coalesce(acquisition_channel, 'unknown') as segment,
        count(*) as customers_ever_paid,
        sum(active_months) as active_months,
        sum(realised_revenue) as realised_revenue,
        max(case when realised_revenue is null then 1 else 0 end) as revenue_lacks_rate
    from customer_values
    group by 'channel:' || coalesce(acquisition_channel, 'unknown')

),

final as (

    select
        cast(segment_values.segment as varchar) as segment,
        cast(substr(segment_values.segment, length('channel:') + 1) as varchar) as channel,
        segment_values.report_date as as_of_date,
        segment_values.paying_customers_end as paying_customers,
        cast(coalesce(customer_lifetimes.customers_ever_paid, 0) as bigint) as customers_ever_paid,
        segment_values.mrr,
        segment_values.arpa,
        segment_values.avg_customer_churn_rate as customer_churn_rate,
        segment_values.churn_window_months,
        segment_values.expected_lifetime_months,
        segment_values.gross_margin,
        segment_values.gross_margin_data_quality,
        segment_values.ltv,
        segment_values.ltv_data_quality,
        cast(
            case when customer_lifetimes.revenue_lacks_rate = 0 then customer_lifetimes.realised_revenue end
            as decimal(18, 4)
        ) as realised_revenue,
        cast(case
            when customer_lifetimes.revenue_lacks_rate = 0
                then {{ divide_money(
                    'customer_lifetimes.realised_revenue', 'customer_lifetimes.customers_ever_paid') }}
        end as decimal(18, 4)) as realised_revenue_per_customer,
        cast(
            case when customer_lifetimes.revenue_lacks_rate = 0 then 'actual' else 'insufficient_data' end
            as varchar
        ) as realised_revenue_data_quality,
        cast(
            {{ divide_money('customer_lifetimes.active_months', 'customer_lifetimes.customers_ever_paid') }}
            as decimal(18, 4)
        ) as avg_active_months,
        segment_values.cac,
        segment_values.cac_data_quality,
        segment_values.clv_cac_ratio,
        segment_values.clv_cac_ratio_data_quality,
        segment_values.cac_payback_months,
        segment_values.cac_payback_months_data_quality,
        segment_values.reporting_currency,
        cast(nullif(concat_ws(
            '; ',
            segment_values.reason,
            case
                when customer_lifetimes.revenue_lacks_rate = 1
                    then 'realised revenue: some revenue has no exchange rate for its day'
            end
        ), '') as varchar) as reason,
        cast(nullif(concat_ws('; ', segment_values.ltv_method, segment_values.cac_method), '') as varchar) as method
    from segment_values
    left join customer_lifetimes on segment_values.segment = customer_lifetimes.segment

)

select * from final
