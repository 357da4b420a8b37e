{#- One row per line of a finalized Stripe invoice (paid, open or uncollectible; drafts and
    voided invoices are not revenue), classified by what it sells and valued net of
    discounts and of all tax:

        net_amount_minor   = amount - discounts - inclusive tax   (the revenue)
        gross_amount_minor = amount - discounts + exclusive tax   (what the customer pays)

    Stripe's line `amount` already includes inclusive tax and leaves exclusive tax out, so
    per invoice the net amounts add up to `total_excluding_tax` and the gross amounts to
    `total` (tests/revenue/assert_invoice_lines_reconcile_to_invoices.sql).

    revenue_type: `usage` for metered prices, `subscription` for a subscription's
    recurring charge and its prorations, `credit_pack` for products named in the var
    `credit_pack_product_ids`, `one_time` for every other invoice item (onboarding,
    services, setup fees).

    Incremental: a build deletes and re-inserts the lines of the Stripe customers in
    int_build__rebuild_scope, reading only their invoices. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='stripe_customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

{%- set credit_pack_products = credit_pack_product_ids() %}

with invoices as (

    select * from {{ ref('stg_stripe__invoices') }}
    where status in ('paid', 'open', 'uncollectible')
    {%- if is_incremental() %}
        and {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

lines as (

    select * from {{ ref('stg_stripe__invoice_lines') }}
    {%- if is_incremental() %}
    -- only the lines of the invoices in scope, before anything is aggregated
    where invoice_id in (select invoice_id from invoices)
    {%- endif %}

),

prices as (

    select * from {{ ref('stg_stripe__prices') }}

),

adjustments as (

    select * from {{ ref('int_stripe__invoice_line_adjustments') }}
    {%- if is_incremental() %}
    where invoice_line_row_id in (select invoice_line_row_id from lines)
    {%- endif %}

),

joined as (

    select
        lines.invoice_line_id,
        lines.invoice_line_row_id,
        invoices.invoice_id,
        invoices.stripe_customer_id,
        invoices.status as invoice_status,
        invoices.currency,
        cast(invoices.created_at as date) as invoice_date,
        lines.subscription_id,
        lines.subscription_item_id,
        lines.price_id,
        prices.product_id,
        prices.price_type,
        prices.usage_type,
        lines.is_proration,
        lines.description,
        lines.amount_minor,
        coalesce(adjustments.discount_minor, 0) as discount_minor,
        coalesce(adjustments.inclusive_tax_minor, 0) as inclusive_tax_minor,
        coalesce(adjustments.exclusive_tax_minor, 0) as exclusive_tax_minor
    from lines
    inner join invoices on lines.invoice_id = invoices.invoice_id
    left join prices on lines.price_id = prices.price_id
    left join adjustments on lines.invoice_line_row_id = adjustments.invoice_line_row_id

),

classified as (

    select
        *,
        case
            when usage_type = 'metered' then 'usage'
            when subscription_item_id is not null or is_proration or price_type = 'recurring'
                then 'subscription'
            {%- if credit_pack_products | length > 0 %}
            when product_id in ({% for p in credit_pack_products %}'{{ p }}'{{ ', ' if not loop.last }}{% endfor %})
                then 'credit_pack'
            {%- endif %}
            else 'one_time'
        end as revenue_type,
        amount_minor - discount_minor - inclusive_tax_minor as net_amount_minor,
        amount_minor - discount_minor + exclusive_tax_minor as gross_amount_minor
    from joined

)

select * from classified
