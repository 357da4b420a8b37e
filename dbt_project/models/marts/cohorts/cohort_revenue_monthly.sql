{#- Revenue cohorts (MRR_RULES.md "Cohorts"): per segment and cohort month (the month the
    customers' first paid period started), the cohort's net revenue in the reporting currency
    (fct_revenue.net_revenue_reporting: invoiced less credited less refunds not credited) in
    each month from the cohort month to the as-of month, and cumulated since the cohort began.
    Revenue a customer had before their first paid month counts in month 0, so the cumulative
    figure is all of the cohort's revenue to date. -#}

{{ config(materialized='table') }}

with customer_segments as (

    select * from {{ ref('cohort_customer_segments') }}

),

revenue as (

    select * from {{ ref('fct_revenue') }}
    where revenue_date <= {{ as_of_date() }}

),

cohort_sizes as (

    select
        segment,
        cohort_month,
        count(*) as cohort_customers
    from customer_segments
    group by segment, cohort_month

),

months as (

    select cast(spine_at as date) as month
    from {{ date_series('(select min(cohort_month) from cohort_sizes)', month_start(as_of_date()), '1 month') }}

),

grid as (

    select
        cohort_sizes.segment,
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_customers,
        months.month
    from cohort_sizes
    inner join months on cohort_sizes.cohort_month <= months.month

),

customer_month_revenue as (

    select
        customer_segments.segment,
        customer_segments.cohort_month,
        -- revenue before the first paid month counts in the cohort month
        case
            when {{ month_start('revenue.revenue_date') }} < customer_segments.cohort_month
                then customer_segments.cohort_month
            else {{ month_start('revenue.revenue_date') }}
        end as month,
        revenue.net_revenue_reporting,
        revenue.data_quality
    from customer_segments
    inner join revenue on customer_segments.customer_id = revenue.customer_id

),

month_revenue as (

    select
        segment,
        cohort_month,
        month,
        sum(net_revenue_reporting) as net_revenue,
        count(*) as revenue_rows,
        max(case when data_quality <> 'actual' then 1 else 0 end) as lacks_rate
    from customer_month_revenue
    group by segment, cohort_month, month

),

joined as (

    select
        grid.segment,
        grid.cohort_month,
        grid.month,
        grid.cohort_customers,
        coalesce(month_revenue.net_revenue, 0) as net_revenue,
        coalesce(month_revenue.lacks_rate, 0) as lacks_rate
    from grid
    left join month_revenue
        on grid.segment = month_revenue.segment
        and grid.cohort_month = month_revenue.cohort_month
        and grid.month = month_revenue.month

),

cumulated as (

    select
        *,
        sum(net_revenue) over (
            partition by segment, cohort_month order by month rows between unbounded preceding and current row
        ) as cumulative_net_revenue,
        max(lacks_rate) over (
            partition by segment, cohort_month order by month rows between unbounded preceding and current row
        ) as lacked_rate
    from joined

),

final as (

    select
        cast(segment || '|' || cast(cohort_month as varchar) || '|' || cast(month as varchar) as varchar)
            as cohort_segment_month_id,
        segment,
        cohort_month,
        cast(
            (extract(year from month) - extract(year from cohort_month)) * 12
            + extract(month from month) - extract(month from cohort_month)
            as integer
        ) as months_since_start,
        month,
        cast(cohort_customers as bigint) as cohort_customers,
        cast(case when lacks_rate = 0 then net_revenue end as decimal(18, 4)) as net_revenue,
        cast(case when lacked_rate = 0 then cumulative_net_revenue end as decimal(18, 4)) as cumulative_net_revenue,
        case when lacked_rate = 0 then {{ divide_money('cumulative_net_revenue', 'cohort_customers') }} end
            as cumulative_net_revenue_per_customer,
        cast('{{ reporting_currency() }}' as varchar) as reporting_currency,
        cast(case when lacked_rate = 1 then 'insufficient_data' else 'actual' end as varchar) as data_quality
    from cumulated

)

select * from final
