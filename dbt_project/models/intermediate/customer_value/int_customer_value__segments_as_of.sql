{#- Lifetime value of every plan and acquisition-channel segment on the as-of date: the
    as-of month of clv_segments_monthly, with what each segment's customers have realised
    so far. clv_by_plan and clv_by_channel each show one kind of segment. -#}

{%- set as_of = as_of_date() %}

with segment_values as (

    select * from {{ ref('clv_segments_monthly') }}
    where
        month = {{ month_start(as_of) }}
        and (segment like 'plan:%' or segment like 'channel:%')

),

customers as (

    select * from {{ ref('dim_customers') }}

),

lifetimes as (

    select * from {{ ref('int_customer_value__lifetimes') }}

),

paid_customers as (

    -- customers who have paid at some time, under their current plan and their
    -- acquisition channel
    select
        'plan:' || coalesce(customers.current_plan_id, 'unknown') as plan_segment,
        'channel:' || coalesce(customers.acquisition_channel, 'unknown') as channel_segment,
        lifetimes.active_months,
        lifetimes.realised_revenue,
        lifetimes.revenue_lacks_rate
    from customers
    inner join lifetimes on customers.customer_id = lifetimes.customer_id
    where customers.first_paid_date is not null

),

customers_by_segment as (

    select
        plan_segment as segment,
        active_months,
        realised_revenue,
        revenue_lacks_rate
    from paid_customers
    union all
    select
        channel_segment as segment,
        active_months,
        realised_revenue,
        revenue_lacks_rate
    from paid_customers

),

customer_lifetimes as (

    select
        segment,
        count(*) as customers_ever_paid,
        sum(active_months) as active_months,
        sum(realised_revenue) as realised_revenue,
        max(case when revenue_lacks_rate then 1 else 0 end) as revenue_lacks_rate
    from customers_by_segment
    group by segment

),

final as (

    select
        cast(segment_values.segment as varchar) as segment,
        cast(split_part(segment_values.segment, ':', 1) as varchar) as segment_kind,
        cast(
            substr(segment_values.segment, length(split_part(segment_values.segment, ':', 1)) + 2)
            as varchar
        ) as segment_value,
        segment_values.report_date as as_of_date,
        segment_values.paying_customers_end as paying_customers,
        cast(coalesce(customer_lifetimes.customers_ever_paid, 0) as bigint) as customers_ever_paid,
        segment_values.mrr,
        segment_values.arpa,
        segment_values.avg_customer_churn_rate as customer_churn_rate,
        segment_values.churn_window_months,
        segment_values.expected_lifetime_months,
        segment_values.gross_margin,
        segment_values.ltv,
        segment_values.ltv_data_quality,
        cast(
            case when customer_lifetimes.revenue_lacks_rate = 0 then customer_lifetimes.realised_revenue end
            as decimal(18, 4)
        ) as realised_revenue,
        cast(case
            when customer_lifetimes.revenue_lacks_rate = 0
                then {{ divide_money('customer_lifetimes.realised_revenue', 'customer_lifetimes.customers_ever_paid') }}
        end
        as decimal(18, 4)) as realised_revenue_per_customer,
        cast(
            {{ divide_money('customer_lifetimes.active_months', 'customer_lifetimes.customers_ever_paid') }}
            as decimal(18, 4)
        ) as avg_active_months,
        segment_values.cac,
        segment_values.cac_data_quality,
        segment_values.clv_cac_ratio,
        segment_values.cac_payback_months,
        segment_values.reporting_currency,
        segment_values.data_quality,
        cast(nullif(concat_ws(
            '; ', segment_values.reason,
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
