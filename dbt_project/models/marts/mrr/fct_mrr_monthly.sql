{#- One row per customer per month from their first paid month to the as-of month: MRR at
    the end of the month (on the as-of date for the current month) and that month's
    movements, so that for every row
    mrr = mrr_start + new + expansion + reactivation - contraction - churned + fx_adjustment. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with customer_days as (

    select * from {{ ref('int_mrr__customer_days') }}
    where change_date <= {{ as_of_date() }}
    {%- if is_incremental() %}
        and {{ mart_customer_in_refresh('customer_id', monthly=true) }}
    {%- endif %}

),

first_paid as (

    select
        customer_id,
        {{ month_start('min(change_date)') }} as first_paid_month
    from customer_days
    where is_paying
    group by customer_id

),

months as (

    select cast(spine_at as date) as month
    from {{ date_series('(select min(first_paid_month) from first_paid)', month_start(as_of_date()), '1 month') }}

),

customer_months as (

    select
        first_paid.customer_id,
        months.month
    from first_paid
    inner join months on first_paid.first_paid_month <= months.month

),

days_in_month as (

    select
        *,
        {{ month_start('change_date') }} as month,
        row_number()
            over (partition by customer_id, {{ month_start('change_date') }} order by change_date desc)
            as rank_from_end
    from customer_days

),

month_activity as (

    select
        customer_id,
        month,
        max(case when rank_from_end = 1 then mrr_after end) as month_end_mrr,
        {{ movement_sums() }},
        sum(case when movement_type = 'new' then 1 else 0 end) as new_movements,
        sum(case when movement_type = 'churn' then 1 else 0 end) as churn_movements,
        sum(case when movement_type = 'reactivation' then 1 else 0 end) as reactivation_movements,
        max(case when data_quality <> 'actual' then 1 else 0 end) as lacks_rate
    from days_in_month
    group by customer_id, month

),

joined as (

    select
        customer_months.customer_id,
        customer_months.month,
        month_activity.month_end_mrr,
        coalesce(month_activity.new_mrr, 0) as new_mrr,
        coalesce(month_activity.expansion_mrr, 0) as expansion_mrr,
        coalesce(month_activity.reactivation_mrr, 0) as reactivation_mrr,
        coalesce(month_activity.contraction_mrr, 0) as contraction_mrr,
        coalesce(month_activity.churned_mrr, 0) as churned_mrr,
        coalesce(month_activity.fx_adjustment, 0) as fx_adjustment,
        coalesce(month_activity.new_movements, 0) as new_movements,
        coalesce(month_activity.churn_movements, 0) as churn_movements,
        coalesce(month_activity.reactivation_movements, 0) as reactivation_movements,
        coalesce(month_activity.lacks_rate, 0) as lacks_rate,
        -- months without a change carry the last known MRR forward
        count(month_activity.month_end_mrr) over (
            partition by customer_months.customer_id order by customer_months.month
        ) as carry_group
    from customer_months
    left join month_activity
        on customer_months.customer_id = month_activity.customer_id
        and customer_months.month = month_activity.month

),

carried as (

    select
        *,
        max(month_end_mrr) over (partition by customer_id, carry_group) as mrr,
        max(lacks_rate) over (partition by customer_id order by month) as lacked_rate
    from joined

),

with_start as (

    select
        *,
        coalesce(lag(mrr) over (partition by customer_id order by month), 0) as mrr_start
    from carried

),

final as (

    select
        customer_id || ':' || cast(month as varchar) as customer_month_id,
        customer_id,
        month,
        cast(mrr_start as decimal(18, 4)) as mrr_start,
        {{ bridge_movement_columns() }},
        cast(mrr as decimal(18, 4)) as mrr,
        mrr_start > 0 as is_paying_start,
        mrr > 0 as is_paying_end,
        new_movements > 0 as is_new,
        churn_movements > 0 as has_churned,
        reactivation_movements > 0 as is_reactivated,
        '{{ reporting_currency() }}' as reporting_currency,
        case when lacked_rate = 1 then 'insufficient_data' else 'actual' end as data_quality
    from with_start

)

select * from final
