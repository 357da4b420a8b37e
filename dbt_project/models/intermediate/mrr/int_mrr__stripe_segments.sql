{#- Stripe invoice lines -> MRR segments: one row per recurring line of a subscription item,
    with the item's MRR (mrr4: ten-thousandths of a major unit per month) from the line's
    period start until the line's period end, cut short where the subscription ends.

    Rules (MRR_RULES.md): amount minus its discounts minus tax included in it; exclusive
    tax is on top and ignored; metered usage, one-time lines and setup fees are not MRR;
    $0 trial and free-plan lines and 100% discounts give segments worth 0; a proration
    (upgrade, seats) sets the item's MRR from its period start to one full period of the
    price the line references x quantity, less the same discount rate and included tax as
    the item's period - an upgrade from 50 to 100 is exactly +50.

    Incremental: a build deletes and re-inserts the segments of the Stripe customers in
    int_build__rebuild_scope, reading only their rows. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='stripe_customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

{%- set churn_on = churn_recognition() %}

with lines as (

    select * from {{ ref('stg_stripe__invoice_lines') }}
    where subscription_item_id is not null
    {%- if is_incremental() %}
        -- only the lines of the invoices in scope, before anything is aggregated
        and invoice_id in (
            select invoice_id from {{ ref('stg_stripe__invoices') }}
            where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }})
    {%- endif %}

),

invoices as (

    select * from {{ ref('stg_stripe__invoices') }}
    -- drafts are not billed yet and voided invoices never were
    where status not in ('draft', 'void')
    {%- if is_incremental() %}
        and {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

prices as (

    select * from {{ ref('stg_stripe__prices') }}

),

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

customers as (

    select * from {{ ref('stg_stripe__customers') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

adjustments as (

    select * from {{ ref('int_stripe__invoice_line_adjustments') }}
    {%- if is_incremental() %}
    where invoice_line_row_id in (select invoice_line_row_id from lines)
    {%- endif %}

),

tax_rates as (

    select * from {{ ref('stg_stripe__tax_rates') }}

),

recurring_lines as (

    -- licensed recurring prices only: metered usage is revenue, not MRR
    select
        lines.invoice_line_id,
        lines.subscription_id,
        lines.subscription_item_id,
        invoices.stripe_customer_id,
        invoices.invoice_id,
        lines.currency,
        lines.amount_minor,
        lines.quantity,
        coalesce(lines.unit_amount_minor, prices.unit_amount_minor) as unit_amount_minor,
        lines.is_proration,
        lines.period_start_epoch,
        lines.period_end_epoch,
        prices.billing_interval,
        prices.billing_interval_count,
        coalesce(adjustments.discount_minor, 0) as discount_minor,
        coalesce(adjustments.inclusive_tax_minor, 0) as inclusive_tax_minor,
        adjustments.inclusive_tax_rate_id,
        greatest(invoices.dlt_load_id, subscriptions.dlt_load_id, customers.dlt_load_id) as source_load_id
    from lines
    inner join invoices on lines.invoice_id = invoices.invoice_id
    inner join prices on lines.price_id = prices.price_id
    inner join subscriptions on lines.subscription_id = subscriptions.subscription_id
    inner join customers on invoices.stripe_customer_id = customers.stripe_customer_id
    left join adjustments on lines.invoice_line_row_id = adjustments.invoice_line_row_id
    where
        prices.price_type = 'recurring'
        and coalesce(prices.usage_type, 'licensed') <> 'metered'

),

period_lines as (

    select * from recurring_lines
    where not is_proration

),

regular_segments as (

    select
        *,
        amount_minor - discount_minor - inclusive_tax_minor as net_minor
    from period_lines

),

proration_changes as (

    -- per item and change time, the line charging the new price for the rest of the
    -- period; its credit twin only takes back the old price. An item removed mid-period
    -- (a credit line only), moved to a free price or changed during a trial (0.00 lines)
    -- is worth 0 from then on.
    select
        *,
        row_number() over (
            partition by subscription_item_id, period_start_epoch
            order by amount_minor desc, invoice_line_id asc
        ) as line_rank
    from recurring_lines
    where is_proration

),

proration_debits as (

    select
        *,
        case
            when amount_minor <= 0 then 0
            else cast(round(unit_amount_minor * quantity) as bigint)
        end as full_gross_minor
    from proration_changes
    where line_rank = 1

),

proration_with_period as (

    -- the item's period line the proration falls in carries the discount rate in force
    select
        proration_debits.*,
        period_lines.amount_minor as period_gross_minor,
        period_lines.discount_minor as period_discount_minor,
        row_number() over (
            partition by proration_debits.invoice_line_id
            order by period_lines.period_start_epoch desc
        ) as period_rank
    from proration_debits
    left join period_lines
        on proration_debits.subscription_item_id = period_lines.subscription_item_id
        and proration_debits.period_start_epoch >= period_lines.period_start_epoch
        and proration_debits.period_start_epoch < period_lines.period_end_epoch

),

proration_discounted as (

    select
        proration_with_period.*,
        case
            when proration_with_period.discount_minor = 0 or proration_with_period.full_gross_minor = 0 then 0
            when
                coalesce(proration_with_period.period_gross_minor, 0) > 0
                and coalesce(proration_with_period.period_discount_minor, 0) > 0
                then {{ round_half_up_div('full_gross_minor * period_discount_minor', 'period_gross_minor') }}
            else {{ round_half_up_div('full_gross_minor * discount_minor', 'amount_minor') }}
        end as full_discount_minor
    from proration_with_period
    where proration_with_period.period_rank = 1

),

proration_segments as (

    select
        proration_discounted.*,
        proration_discounted.full_gross_minor - proration_discounted.full_discount_minor - case
            when proration_discounted.inclusive_tax_minor = 0 or proration_discounted.full_gross_minor = 0 then 0
            when tax_rates.percentage_bp is not null
                then {{ round_half_up_div(
                    '(proration_discounted.full_gross_minor - proration_discounted.full_discount_minor)'
                    ~ ' * tax_rates.percentage_bp',
                    '10000 + tax_rates.percentage_bp') }}
            else {{ round_half_up_div(
                '(proration_discounted.full_gross_minor - proration_discounted.full_discount_minor)'
                ~ ' * proration_discounted.inclusive_tax_minor',
                'proration_discounted.amount_minor - proration_discounted.discount_minor') }}
        end as net_minor
    from proration_discounted
    left join tax_rates on proration_discounted.inclusive_tax_rate_id = tax_rates.tax_rate_id

),

segments as (

    select
        invoice_line_id,
        subscription_id,
        subscription_item_id,
        stripe_customer_id,
        currency,
        is_proration,
        period_start_epoch,
        period_end_epoch,
        billing_interval,
        billing_interval_count,
        net_minor,
        source_load_id
    from regular_segments
    union all
    select
        invoice_line_id,
        subscription_id,
        subscription_item_id,
        stripe_customer_id,
        currency,
        is_proration,
        period_start_epoch,
        period_end_epoch,
        billing_interval,
        billing_interval_count,
        net_minor,
        source_load_id
    from proration_segments

),

uncollectible as (

    select
        subscription_id,
        max(marked_uncollectible_at_epoch) as marked_uncollectible_at_epoch
    from invoices
    where status = 'uncollectible'
    group by subscription_id

),

subscription_ends as (

    select
        subscriptions.subscription_id,
        subscriptions.status as subscription_status,
        subscriptions.ended_at_epoch,
        subscriptions.cancel_at_epoch,
        subscriptions.canceled_at_epoch,
        uncollectible.marked_uncollectible_at_epoch,
        subscriptions.cancellation_reason
    from subscriptions
    left join uncollectible on subscriptions.subscription_id = uncollectible.subscription_id

),

with_end as (

    select
        segments.*,
        subscription_ends.subscription_status,
        -- when the subscription stops carrying MRR, whatever its lines say
        case
        {%- if churn_on == 'requested' %}
            when subscription_ends.canceled_at_epoch is not null
                then subscription_ends.canceled_at_epoch
            {%- endif %}
        {%- if unpaid_is_churn() %}
            when subscription_ends.marked_uncollectible_at_epoch is not null
                and (subscription_ends.subscription_status = 'unpaid'
                    or subscription_ends.cancellation_reason = 'payment_failed')
                then subscription_ends.marked_uncollectible_at_epoch
            {%- endif %}
            when subscription_ends.ended_at_epoch is not null then subscription_ends.ended_at_epoch
            -- a live subscription scheduled to cancel stops then
            when subscription_ends.cancel_at_epoch is not null then subscription_ends.cancel_at_epoch
        end as stops_at_epoch,
        row_number() over (
            partition by segments.subscription_item_id
            order by segments.period_start_epoch desc, segments.is_proration desc, segments.invoice_line_id desc
        ) = 1 as is_latest_line
    from segments
    inner join subscription_ends on segments.subscription_id = subscription_ends.subscription_id

),

cut as (

    select
        *,
        case
            -- a running subscription keeps its last line's MRR after the line's period
            -- while the renewal invoice is still a draft (Stripe drafts it up to an hour)
            when
                is_latest_line and stops_at_epoch is null
                and subscription_status in ('active', 'past_due', 'unpaid', 'trialing')
                then null
            when
                is_latest_line and stops_at_epoch is not null
                and subscription_status in ('active', 'past_due', 'unpaid', 'trialing')
                then stops_at_epoch
            when stops_at_epoch is not null and stops_at_epoch < period_end_epoch
                then stops_at_epoch
            else period_end_epoch
        end as segment_end_epoch
    from with_end

),

final as (

    select
        'stripe' as gateway,
        stripe_customer_id,
        cast(null as varchar) as app_account_id,
        subscription_id,
        subscription_item_id as item_key,
        invoice_line_id as source_row_id,
        currency,
        is_proration,
        period_start_epoch as segment_start_epoch,
        segment_end_epoch,
        {{ monthly_mrr4('net_minor', 'currency', 'billing_interval', 'billing_interval_count') }} as mrr4,
        source_load_id,
        cast(null as date) as as_of_sensitive_until
    from cut
    where segment_end_epoch is null or segment_end_epoch > period_start_epoch

)

select * from final
