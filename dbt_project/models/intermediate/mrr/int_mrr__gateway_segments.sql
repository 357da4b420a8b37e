{#- Payments of the other gateways (PayPal, the local gateway) -> MRR segments. Each paid
    subscription period is a transaction with its service period; the subscription's MRR
    runs from the period's first day to the day after its last paid period.

    A refunded payment keeps its MRR (refunds change revenue, not MRR); a pending one
    counts (charged, awaiting confirmation). A failed payment with no successful retry for
    the same period counts only while the gateway still retries it (var
    `gateway_retry_days`): the subscription is past due and keeps its MRR; after that the
    period lapsed and MRR stopped when the last paid period ended.

    Incremental: a build deletes and re-inserts the segments of the app accounts in
    int_build__rebuild_scope, reading only their transactions. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='app_account_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with transactions as (

    select * from {{ ref('stg_app__transactions') }}
    where
        product_type = 'subscription'
        and gateway_subscription_id is not null
        and service_period_start is not null
        and service_period_end is not null
    {%- if is_incremental() %}
        and {{ in_rebuild_scope('account_id', 'app_account') }}
    {%- endif %}

),

periods as (

    -- one row per subscription period: a successful retry wins over the failed attempt
    select
        *,
        row_number() over (
            partition by gateway_subscription_id, service_period_start
            order by case when status = 'failed' then 1 else 0 end, updated_at desc, transaction_id asc
        ) as attempt_rank
    from transactions

),

counted as (

    select
        *,
        case
            when status <> 'failed' then true
            when
                {{ as_of_date() }}
                < cast({{ dbt.dateadd('day', gateway_retry_days(), 'service_period_start') }} as date)
                then true
            else false
        end as counts_as_mrr
    from periods
    where attempt_rank = 1

),

final as (

    select
        gateway,
        cast(null as varchar) as stripe_customer_id,
        account_id as app_account_id,
        gateway_subscription_id as subscription_id,
        gateway_subscription_id as item_key,
        transaction_id as source_row_id,
        currency,
        false as is_proration,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'service_period_start', 'day') }}
        * cast(86400 as bigint) as segment_start_epoch,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'service_period_end', 'day') }}
        * cast(86400 as bigint) as segment_end_epoch,
        case when counts_as_mrr then {{ monthly_mrr4(
            'amount_minor', 'currency',
            "case billing_interval when 'quarter' then 'month' else billing_interval end",
            "case billing_interval when 'quarter' then 3 else 1 end") }} else 0 end as mrr4,
        dlt_load_id as source_load_id,
        -- the as-of date after which this row's answer may change (a retry window ends)
        case
            when status = 'failed'
                then cast({{ dbt.dateadd('day', gateway_retry_days(), 'service_period_start') }} as date)
        end as as_of_sensitive_until
    from counted

)

select * from final
