{#- Money taken and given back by the gateways Stripe does not see (PayPal, the local
    gateway), from the app's transactions. One row per transaction and event:

    - `payment`: a transaction that succeeded (also when later refunded) is invoiced and
      collected at once, on the day it was created;
    - `refund`: a refunded transaction gives back `refunded_amount_minor` (the whole
      amount when the gateway did not say) on the day the transaction was last updated.

    These gateways issue no credit notes and report no tax, so a refund reduces revenue
    by its full amount. Failed and pending transactions collected nothing.

    Incremental: a build deletes and re-inserts the events of the app accounts in
    int_build__rebuild_scope, reading only their transactions. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='account_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with transactions as (

    select * from {{ ref('stg_app__transactions') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('account_id', 'app_account') }}
    {%- endif %}

),

typed as (

    select
        *,
        case product_type
            when 'subscription' then 'subscription'
            when 'credit_pack' then 'credit_pack'
            else 'one_time'
        end as revenue_type,
        case
            when refunded_amount_minor > 0 then refunded_amount_minor
            when status = 'refunded' then amount_minor
            else 0
        end as refund_minor
    from transactions
    where status in ('succeeded', 'refunded')

),

payments as (

    select
        'payment:' || transaction_id as gateway_event_id,
        'payment' as event_type,
        transaction_id,
        account_id,
        lower(gateway) as gateway,
        currency,
        revenue_type,
        cast(created_at as date) as revenue_date,
        amount_minor as invoiced_minor,
        amount_minor as collected_minor,
        0 as refunded_minor
    from typed
    where amount_minor <> 0

),

refunds as (

    select
        'refund:' || transaction_id as gateway_event_id,
        'refund' as event_type,
        transaction_id,
        account_id,
        lower(gateway) as gateway,
        currency,
        revenue_type,
        cast(updated_at as date) as revenue_date,
        0 as invoiced_minor,
        0 as collected_minor,
        refund_minor as refunded_minor
    from typed
    where refund_minor <> 0

),

events as (

    select * from payments
    union all
    select * from refunds

)

select * from events
