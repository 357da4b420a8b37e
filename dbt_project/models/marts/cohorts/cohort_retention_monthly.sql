{#- Cohort retention (MRR_RULES.md "Cohorts"): a customer's cohort is the month their first
    paid period started. One row per segment, cohort month and month since then, up to the
    as-of month (the current month ends on the as-of date): how many of the cohort still pay
    and how much of the cohort's starting MRR (its MRR at the end of its first month) they
    pay now. Segments (cohort_customer_segments): `all`, `plan:<plan_id>` (the plan of the
    customer's first paid day), `channel:<acquisition_channel>`. -#}

{{ config(materialized='table') }}

with customer_months as (

    select * from {{ ref('fct_mrr_monthly') }}

),

customer_segments as (

    select * from {{ ref('cohort_customer_segments') }}

),

cohort_months as (

    select
        customer_segments.segment,
        customer_segments.cohort_month,
        customer_months.month,
        cast(
            (extract(year from customer_months.month) - extract(year from customer_segments.cohort_month)) * 12
            + extract(month from customer_months.month) - extract(month from customer_segments.cohort_month)
            as integer
        ) as months_since_start,
        -- every customer has a row for every month from their first paid month
        count(*) as customers_at_start,
        sum(case when customer_months.is_paying_end then 1 else 0 end) as customers_paying,
        sum(customer_months.mrr) as mrr_retained,
        max(case when customer_months.data_quality <> 'actual' then 1 else 0 end) as lacks_rate
    from customer_segments
    inner join customer_months
        on customer_segments.customer_id = customer_months.customer_id
    group by customer_segments.segment, customer_segments.cohort_month, customer_months.month

),

with_start as (

    select
        *,
        max(case when months_since_start = 0 then mrr_retained end) over (
            partition by segment, cohort_month
        ) as starting_mrr,
        max(case when months_since_start = 0 then lacks_rate end) over (
            partition by segment, cohort_month
        ) as start_lacks_rate
    from cohort_months

),

flagged as (

    select
        *,
        case when lacks_rate = 1 or start_lacks_rate = 1 then 1 else 0 end as is_insufficient
    from with_start

),

final as (

    select
        cast(segment || '|' || cast(cohort_month as varchar) || '|' || cast(month as varchar) as varchar)
            as cohort_segment_month_id,
        segment,
        cohort_month,
        months_since_start,
        month,
        cast(customers_at_start as bigint) as customers_at_start,
        cast(customers_paying as bigint) as customers_paying,
        {{ ratio('customers_paying', 'customers_at_start') }} as logo_retention,
        cast(case when start_lacks_rate = 0 then starting_mrr end as decimal(18, 4)) as starting_mrr,
        cast(case when lacks_rate = 0 then mrr_retained end as decimal(18, 4)) as mrr_retained,
        case when is_insufficient = 0 then {{ ratio('mrr_retained', 'starting_mrr') }} end as net_mrr_retention,
        cast('{{ reporting_currency() }}' as varchar) as reporting_currency,
        cast(case when is_insufficient = 1 then 'insufficient_data' else 'actual' end as varchar) as data_quality
    from flagged

)

select * from final
