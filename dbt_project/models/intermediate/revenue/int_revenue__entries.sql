{#- Every amount that makes up fct_revenue, one row per source document and revenue type,
    with the unified customer: Stripe invoices (invoiced, by line kind), Stripe charges,
    refunds and credit notes (shared out over their invoice's revenue types), and the other
    gateways' payments and refunds. Amounts are integer minor units of `currency`;
    refunded and credited amounts are positive magnitudes. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with invoice_lines as (

    select * from {{ ref('int_revenue__invoice_lines') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

settlements as (

    select * from {{ ref('int_revenue__stripe_settlements') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

gateway_transactions as (

    select * from {{ ref('int_revenue__gateway_transactions') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('account_id', 'app_account') }}
    {%- endif %}

),

id_map as (

    select * from {{ ref('int_customers__id_map') }}

),

invoiced as (

    select
        'stripe_invoice' as entry_source,
        invoice_id as source_id,
        'stripe_customer' as id_type,
        stripe_customer_id as customer_source_id,
        'stripe' as gateway,
        currency,
        revenue_type,
        invoice_date as revenue_date,
        sum(net_amount_minor) as invoiced_minor,
        0 as collected_minor,
        0 as refunded_minor,
        0 as credited_minor,
        0 as uncredited_refund_minor
    from invoice_lines
    group by invoice_id, stripe_customer_id, currency, revenue_type, invoice_date

),

stripe_settled as (

    select
        'stripe_' || document_type as entry_source,
        document_id as source_id,
        'stripe_customer' as id_type,
        stripe_customer_id as customer_source_id,
        'stripe' as gateway,
        currency,
        revenue_type,
        revenue_date,
        0 as invoiced_minor,
        collected_minor,
        refunded_minor,
        credited_minor,
        uncredited_refund_minor
    from settlements

),

gateway as (

    select
        'gateway_' || event_type as entry_source,
        transaction_id as source_id,
        'app_account' as id_type,
        account_id as customer_source_id,
        gateway,
        currency,
        revenue_type,
        revenue_date,
        invoiced_minor,
        collected_minor,
        refunded_minor,
        0 as credited_minor,
        -- no credit notes on these gateways: every refund reduces revenue
        refunded_minor as uncredited_refund_minor
    from gateway_transactions

),

entries as (

    select * from invoiced
    union all
    select * from stripe_settled
    union all
    select * from gateway

),

with_customer as (

    select
        entries.entry_source || ':' || entries.source_id || ':' || entries.revenue_type as entry_id,
        entries.entry_source,
        entries.source_id,
        -- a source id the customer map does not know stays a customer of its own
        coalesce(id_map.customer_id, entries.customer_source_id) as customer_id,
        entries.customer_source_id,
        entries.revenue_date,
        entries.gateway,
        entries.currency,
        entries.revenue_type,
        cast(entries.invoiced_minor as bigint) as invoiced_minor,
        cast(entries.collected_minor as bigint) as collected_minor,
        cast(entries.refunded_minor as bigint) as refunded_minor,
        cast(entries.credited_minor as bigint) as credited_minor,
        cast(entries.uncredited_refund_minor as bigint) as uncredited_refund_minor
    from entries
    left join id_map
        on entries.id_type = id_map.id_type
        and entries.customer_source_id = id_map.source_id
    -- no money, no entry (trial and free-plan lines, usage of zero units)
    where
        entries.invoiced_minor <> 0
        or entries.collected_minor <> 0
        or entries.refunded_minor <> 0
        or entries.credited_minor <> 0
        or entries.uncredited_refund_minor <> 0

)

select * from with_customer
