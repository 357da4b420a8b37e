{#- The MRR bridge per day, from the first day with MRR to the as-of date:
    mrr_end = mrr_start + new + expansion + reactivation - contraction - churned + fx_adjustment. -#}

with customer_days as (

    select * from {{ ref('int_mrr__customer_days') }}
    where change_date <= {{ as_of_date() }}

),

days as (

    select cast(spine_at as date) as summary_date
    from {{ date_series('(select min(change_date) from customer_days)', as_of_date(), '1 day') }}

),

day_totals as (

    select
        change_date,
        sum(mrr_after - mrr_before) as mrr_delta,
        {{ movement_sums() }},
        sum(case when is_paying then 1 else 0 end) - sum(case when was_paying then 1 else 0 end) as paying_delta,
        sum(case when movement_type = 'new' then 1 else 0 end) as new_customers,
        sum(case when movement_type = 'churn' then 1 else 0 end) as churned_customers,
        sum(case when movement_type = 'reactivation' then 1 else 0 end) as reactivated_customers,
        max(case when data_quality <> 'actual' then 1 else 0 end) as lacks_rate
    from customer_days
    group by change_date

),

joined as (

    select
        days.summary_date,
        coalesce(day_totals.mrr_delta, 0) as mrr_delta,
        coalesce(day_totals.new_mrr, 0) as new_mrr,
        coalesce(day_totals.expansion_mrr, 0) as expansion_mrr,
        coalesce(day_totals.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(day_totals.contraction_mrr, 0) as contraction_mrr,
        coalesce(day_totals.churned_mrr, 0) as churned_mrr,
        coalesce(day_totals.fx_adjustment, 0) as fx_adjustment,
        coalesce(day_totals.paying_delta, 0) as paying_delta,
        coalesce(day_totals.new_customers, 0) as new_customers,
        coalesce(day_totals.churned_customers, 0) as churned_customers,
        coalesce(day_totals.reactivated_customers, 0) as reactivated_customers,
        coalesce(day_totals.lacks_rate, 0) as lacks_rate
    from days
    left join day_totals on days.summary_date = day_totals.change_date

),

running as (

    select
        *,
        sum(mrr_delta) over history as mrr_end,
        sum(paying_delta) over history as paying_customers_end,
        max(lacks_rate) over history as lacked_rate
    from joined
    window history as (order by summary_date rows between unbounded preceding and current row)

),

bridged as (

    select
        summary_date,
        cast(mrr_end - mrr_delta as decimal(18, 4)) as mrr_start,
        {{ bridge_movement_columns() }},
        cast(mrr_end as decimal(18, 4)) as mrr_end,
        cast(paying_customers_end - paying_delta as bigint) as paying_customers_start,
        cast(paying_customers_end as bigint) as paying_customers_end,
        cast(new_customers as bigint) as new_customers,
        cast(churned_customers as bigint) as churned_customers,
        cast(reactivated_customers as bigint) as reactivated_customers,
        -- within one day a customer has one net movement, so every churn is a lost logo
        cast(churned_customers as bigint) as customers_lost,
        lacked_rate
    from running

),

final as (

    select
        summary_date,
        mrr_start,
        new_mrr,
        expansion_mrr,
        reactivation_mrr,
        contraction_mrr,
        churned_mrr,
        fx_adjustment,
        mrr_end,
        paying_customers_start,
        paying_customers_end,
        new_customers,
        churned_customers,
        reactivated_customers,
        {{ bridge_rates() }},
        '{{ reporting_currency() }}' as reporting_currency,
        case when lacked_rate = 1 then 'insufficient_data' else 'actual' end as data_quality
    from bridged

)

select * from final
