{#- Every MRR segment of every gateway, keyed by the unified customer. Incremental: a build
    deletes and re-inserts all the segments of the customers in int_build__rebuild_scope,
    which the per-gateway segment models rebuilt earlier in the same run. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with stripe_segments as (

    select * from {{ ref('int_mrr__stripe_segments') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

gateway_segments as (

    select * from {{ ref('int_mrr__gateway_segments') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('app_account_id', 'app_account') }}
    {%- endif %}

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
