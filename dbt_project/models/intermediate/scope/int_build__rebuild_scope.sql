{#- The customers this build recomputes in the per-customer models, with every source id
    they have (so segment and revenue models can filter raw rows before any window or
    join). Empty when the build state says `rebuild_all`: then everything is recomputed.

    A customer is in scope when any of their rows was loaded after the previous build's
    watermark (dlt's merge re-writes a re-fetched invoice, subscription, customer, charge,
    refund, credit note, transaction or account with the new load id: late refunds and
    back-dated cancellations arrive this way), when a rate of their currency was loaded
    (a correction, or a day that lacked one), or when a gateway payment's retry window
    spans the previous as-of date. -#}

with state as (

    select * from {{ ref('int_build__state') }}

),

id_map as (

    select * from {{ ref('int_customers__id_map') }}

),

changed_stripe_customers as (

    {%- for model in ['stg_stripe__invoices', 'stg_stripe__subscriptions', 'stg_stripe__customers',
        'stg_stripe__charges', 'stg_stripe__refunds', 'stg_stripe__credit_notes'] %}
    select stripe_customer_id from {{ ref(model) }}
    where dlt_load_id > (select state.previous_watermark from state)
    {{ 'union' if not loop.last }}
    {%- endfor %}

),

changed_accounts as (

    select account_id from {{ ref('stg_app__transactions') }}
    where
        dlt_load_id > (select state.previous_watermark from state)
        or (
            status = 'failed'
            and cast({{ dbt.dateadd('day', gateway_retry_days(), 'service_period_start') }} as date)
            >= (select state.previous_as_of_date from state)
        )
    union
    select account_id from {{ ref('stg_app__accounts') }}
    where dlt_load_id > (select state.previous_watermark from state)

),

changed_currencies as (

    select distinct currency from {{ ref('stg_fx__rates') }}
    where dlt_load_id > (select state.previous_watermark from state)

),

customers_in_scope as (

    select customer_id from id_map
    where
        id_type = 'stripe_customer'
        and source_id in (select changed_stripe_customers.stripe_customer_id from changed_stripe_customers)
    union
    select customer_id from id_map
    where id_type = 'app_account' and source_id in (select changed_accounts.account_id from changed_accounts)
    union
    select id_map.customer_id
    from id_map
    inner join {{ ref('stg_stripe__customers') }} as stripe_customers
        on id_map.id_type = 'stripe_customer' and id_map.source_id = stripe_customers.stripe_customer_id
    where stripe_customers.currency in (select changed_currencies.currency from changed_currencies)
    union
    select id_map.customer_id
    from id_map
    inner join {{ ref('stg_app__accounts') }} as accounts
        on id_map.id_type = 'app_account' and id_map.source_id = accounts.account_id
    where accounts.currency in (select changed_currencies.currency from changed_currencies)

),

final as (

    select
        id_map.customer_id,
        id_map.id_type,
        id_map.source_id
    from id_map
    where
        id_map.customer_id in (select customers_in_scope.customer_id from customers_in_scope)
        and not (select state.rebuild_all from state)

)

select * from final
