{#- Every MRR segment of every gateway, keyed by the unified customer. -#}

with stripe_segments as (

    select * from {{ ref('int_mrr__stripe_segments') }}

),

gateway_segments as (

    select * from {{ ref('int_mrr__gateway_segments') }}

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
