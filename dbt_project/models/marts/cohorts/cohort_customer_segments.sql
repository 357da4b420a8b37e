{#- One row per paying customer and cohort segment (MRR_RULES.md "Cohorts"): the customer's
    cohort (the month their first paid period started) and the segments the cohort marts split
    it by: `all`, `plan:<plan_id>` (the plan of the customer's first paid day) and
    `channel:<acquisition_channel>`. -#}

{{ config(materialized='table') }}

with customer_months as (

    select * from {{ ref('fct_mrr_monthly') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

segments as (

    select * from {{ ref('int_mrr__segments') }}

),

cohorts as (

    -- fct_mrr_monthly starts every customer at their first paid month
    select
        customer_id,
        min(month) as cohort_month
    from customer_months
    group by customer_id

),

first_paid_plan as (

    -- the plan of the customer's most valuable segment running at the end of their first paid day
    select
        customer_id,
        plan_id
    from (
        select
            segments.customer_id,
            coalesce(prices.plan_id, transactions.plan_id) as plan_id,
            row_number() over (
                partition by segments.customer_id
                order by segments.mrr4 desc, segments.segment_start_epoch desc
            ) as plan_rank
        from segments
        inner join customers
            on segments.customer_id = customers.customer_id
        left join {{ ref('stg_stripe__invoice_lines') }} as lines
            on segments.gateway = 'stripe' and segments.source_row_id = lines.invoice_line_id
        left join {{ ref('stg_stripe__prices') }} as prices
            on lines.price_id = prices.price_id
        left join {{ ref('stg_app__transactions') }} as transactions
            on segments.gateway <> 'stripe' and segments.source_row_id = transactions.transaction_id
        where
            customers.first_paid_date is not null
            and segments.segment_start_epoch
            < {{ dbt.datediff("cast('1970-01-01' as date)", 'customers.first_paid_date', 'day') }}
            * cast(86400 as bigint)
            + 86400
            and (
                segments.segment_end_epoch is null
                or segments.segment_end_epoch
                >= {{ dbt.datediff("cast('1970-01-01' as date)", 'customers.first_paid_date', 'day') }}
                * cast(86400 as bigint)
                + 86400
            )
    ) as ranked
    where plan_rank = 1 and plan_id is not null

),

customer_segments as (

    select
        cohorts.customer_id,
        cohorts.cohort_month,
        cast('all' as varchar) as segment
    from cohorts

    union all

    -- no segment running at the end of the first paid day: the current plan
    select
        cohorts.customer_id,
        cohorts.cohort_month,
        cast('plan:' || coalesce(first_paid_plan.plan_id, customers.current_plan_id, 'unknown') as varchar) as segment
    from cohorts
    left join first_paid_plan on cohorts.customer_id = first_paid_plan.customer_id
    left join customers on cohorts.customer_id = customers.customer_id

    union all

    select
        cohorts.customer_id,
        cohorts.cohort_month,
        cast('channel:' || coalesce(customers.acquisition_channel, 'unknown') as varchar) as segment
    from cohorts
    left join customers on cohorts.customer_id = customers.customer_id

),

final as (

    select
        cast(customer_segments.customer_id || '|' || customer_segments.segment as varchar) as customer_segment_id,
        cast(customer_segments.customer_id as varchar) as customer_id,
        customer_segments.segment,
        customer_segments.cohort_month,
        cast(first_paid_plan.plan_id as varchar) as first_paid_plan_id
    from customer_segments
    left join first_paid_plan on customer_segments.customer_id = first_paid_plan.customer_id

)

select * from final
