{#- The customers that explain a gap on the as-of date: our current MRR per customer
    (dim_customers) against ChartMogul's (its customer list, matched on external_id), every
    customer that differs ranked by the absolute variance (then by id), the first
    `reconciliation_top_customers` kept, with their share of the total absolute variance.

    Like chartmogul_reconciliation: rows only for an as-of date ChartMogul was read for, a
    rebuild replaces that date's rows, --full-refresh leaves the history alone. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of',
    full_refresh=false,
    on_schema_change='fail',
    pre_hook="{{ reconciliation_replace_as_of() }}",
) }}

with chartmogul_read as (

    -- ChartMogul was read for this as-of date
    select max(read_at) as read_at
    from {{ ref('stg_chartmogul__account') }}
    where as_of = {{ as_of_date() }}

),

daily as (

    -- the daily comparison of the same as-of date: its currency and read time
    select
        max(currency) as currency,
        max(checked_at) as checked_at
    from {{ ref('chartmogul_reconciliation') }}
    where as_of = {{ as_of_date() }}

),

ours as (

    select
        cast(customer_id as varchar) as customer_id,
        cast(round(current_mrr, 2) as decimal(18, 2)) as our_mrr
    from {{ ref('dim_customers') }}
    where current_mrr <> 0

),

theirs as (

    -- one ChartMogul customer per external id
    select
        external_id,
        customer_name,
        mrr_cents
    from (
        select
            external_id,
            customer_name,
            mrr_cents,
            row_number() over (
                partition by external_id order by {{ codepoint_order('chartmogul_uuid') }} desc
            ) as nth
        from {{ ref('stg_chartmogul__customers') }}
        where as_of = {{ as_of_date() }} and external_id is not null
    ) as numbered
    where nth = 1

),

customers as (

    select customer_id from ours
    union
    select external_id from theirs
    where mrr_cents <> 0

),

compared as (

    select
        customers.customer_id,
        coalesce(theirs.customer_name, '') as customer_name,
        coalesce(ours.our_mrr, cast(0 as decimal(18, 2))) as our_mrr,
        coalesce(
            cast(
                cast(theirs.mrr_cents as decimal(38, 0)) * cast(0.01 as decimal(3, 2))
                as decimal(18, 2)
            ),
            cast(0 as decimal(18, 2))
        ) as chartmogul_mrr
    from customers
    left join ours on customers.customer_id = ours.customer_id
    left join theirs on customers.customer_id = theirs.external_id
    -- nothing unless ChartMogul was read for this as-of date
    where (select chartmogul_read.read_at from chartmogul_read) is not null

),

gaps as (

    select
        *,
        cast(our_mrr - chartmogul_mrr as decimal(18, 2)) as variance,
        cast(abs(our_mrr - chartmogul_mrr) * 100 as decimal(38, 0)) as abs_variance_cents
    from compared
    where our_mrr <> chartmogul_mrr

),

ranked as (

    select
        *,
        row_number() over (
            order by abs_variance_cents desc, {{ codepoint_order('customer_id') }} asc
        ) as rank,
        sum(abs_variance_cents) over () as total_cents
    from gaps

),

final as (

    select
        cast({{ as_of_date() }} as date) as as_of,
        cast(rank as integer) as rank,
        cast(customer_id as varchar) as customer_id,
        cast(customer_name as varchar) as customer_name,
        our_mrr,
        chartmogul_mrr,
        variance,
        -- |variance| / sum of |variances|, to 4 places, halves to even
        cast(cast(
            {{ round_half_even_div('abs_variance_cents * 10000', 'total_cents') }}
            as decimal(38, 0)
        ) * cast(0.0001 as decimal(5, 4)
        ) as decimal(12, 4
        ))
            as abs_share_of_gap,
        cast((select daily.currency from daily) as varchar) as currency,
        cast((select daily.checked_at from daily) as timestamp with time zone) as checked_at
    from ranked
    where rank <= {{ reconciliation_top_customers() }}

)

select * from final
