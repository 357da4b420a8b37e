{#- Every MRR segment of every gateway, keyed by the unified customer. Incremental: a build
    recomputes the segments of the customers in int_build__rebuild_scope only (deleting and
    re-inserting all of their rows), reading just their raw rows. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with stripe_segments as (

    {{ mrr_stripe_segments(scoped=is_incremental()) }}

),

gateway_segments as (

    {{ mrr_gateway_segments(scoped=is_incremental()) }}

),

id_map as (

    select * from {{ ref('int_customers__id_map') }}

),

unioned as (

    select * from stripe_segments
    union all
    select * from gateway_segments

),

with_customer as (

    select
        coalesce(by_stripe.customer_id, by_account.customer_id, unioned.stripe_customer_id) as customer_id,
        unioned.*
    from unioned
    left join id_map as by_stripe
        on by_stripe.id_type = 'stripe_customer' and unioned.stripe_customer_id = by_stripe.source_id
    left join id_map as by_account
        on by_account.id_type = 'app_account' and unioned.app_account_id = by_account.source_id

)

select * from with_customer
