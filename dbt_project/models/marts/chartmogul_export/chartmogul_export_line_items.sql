{#- What ChartMogul's invoices hold, one row per line item, from every gateway: the rows
    the ChartMogul sync (serving/chartmogul_sync) sends, so an analyst sees exactly what
    ChartMogul gets.

    ChartMogul computes MRR from subscription line items (amount after discount, tax
    included, less `tax_amount_in_cents`, normalised by the plan's interval, from the
    service-period start), so the lines are chosen to give it the MRR engine's answer:
    - Stripe: each recurring licensed line of a billed invoice (paid, open,
      uncollectible) is a subscription line of the subscription item it bills
      (`subscription_external_id` = the item, `subscription_set_external_id` = the
      subscription). A proration is sent as the line that charges the new price for the
      rest of the period (`prorated`), the one the MRR engine reads; its credit twin and
      any other negative line (ChartMogul refuses negative amounts) are left out, and an
      item removed mid-period is a cancellation (chartmogul_export_cancellations).
      Metered usage, invoice items and setup fees are `one_time` lines.
    - PayPal and the local gateway: each paid subscription period is an invoice with one
      subscription line (the attempt the MRR engine counts); one-off purchases are
      `one_time` lines. -#}

with revenue_lines as (

    select * from {{ ref('int_revenue__invoice_lines') }}

),

stripe_lines as (

    select * from {{ ref('stg_stripe__invoice_lines') }}

),

prices as (

    select * from {{ ref('stg_stripe__prices') }}

),

stripe_segments as (

    select * from {{ ref('int_mrr__stripe_segments') }}

),

gateway_segments as (

    select * from {{ ref('int_mrr__gateway_segments') }}

),

transactions as (

    select * from {{ ref('stg_app__transactions') }}

),

id_map as (

    select * from {{ ref('int_customers__id_map') }}

),

mrr_proration_lines as (

    -- the proration line of each change that the MRR engine reads
    select distinct source_row_id as invoice_line_id
    from stripe_segments
    where is_proration

),

stripe_classified as (

    select
        revenue_lines.invoice_line_id,
        revenue_lines.invoice_id,
        revenue_lines.stripe_customer_id,
        revenue_lines.subscription_id,
        revenue_lines.subscription_item_id,
        revenue_lines.currency,
        revenue_lines.description,
        revenue_lines.is_proration,
        revenue_lines.amount_minor,
        revenue_lines.discount_minor,
        revenue_lines.inclusive_tax_minor,
        revenue_lines.exclusive_tax_minor,
        stripe_lines.quantity,
        stripe_lines.period_start_at,
        stripe_lines.period_end_at,
        prices.plan_id,
        prices.billing_interval,
        prices.billing_interval_count,
        case
            when
                revenue_lines.subscription_item_id is not null
                and prices.price_type = 'recurring'
                and coalesce(prices.usage_type, 'licensed') <> 'metered'
                then case
                    when not revenue_lines.is_proration then 'subscription'
                    when mrr_proration_lines.invoice_line_id is not null and revenue_lines.amount_minor >= 0
                        then 'subscription'
                    else 'left_out'
                end
            when revenue_lines.amount_minor - revenue_lines.discount_minor >= 0 then 'one_time'
            else 'left_out'
        end as line_type
    from revenue_lines
    inner join stripe_lines on revenue_lines.invoice_line_id = stripe_lines.invoice_line_id
    left join prices on revenue_lines.price_id = prices.price_id
    left join mrr_proration_lines on revenue_lines.invoice_line_id = mrr_proration_lines.invoice_line_id

),

stripe_items as (

    select
        stripe_classified.invoice_line_id as external_id,
        'stripe_' || stripe_classified.invoice_id as invoice_external_id,
        coalesce(id_map.customer_id, stripe_classified.stripe_customer_id) as customer_external_id,
        'stripe' as gateway,
        stripe_classified.line_type,
        stripe_classified.plan_id,
        stripe_classified.currency,
        stripe_classified.billing_interval,
        stripe_classified.billing_interval_count,
        case when stripe_classified.line_type = 'subscription' then stripe_classified.subscription_item_id end
            as subscription_external_id,
        case when stripe_classified.line_type = 'subscription' then stripe_classified.subscription_id end
            as subscription_set_external_id,
        stripe_classified.period_start_at as service_period_start,
        stripe_classified.period_end_at as service_period_end,
        coalesce(stripe_classified.quantity, 1) as quantity,
        -- ChartMogul: after discount, tax included (exclusive tax is on top of Stripe's amount)
        stripe_classified.amount_minor - stripe_classified.discount_minor
        + stripe_classified.exclusive_tax_minor as amount_in_cents,
        stripe_classified.discount_minor as discount_amount_in_cents,
        stripe_classified.inclusive_tax_minor + stripe_classified.exclusive_tax_minor as tax_amount_in_cents,
        stripe_classified.is_proration as prorated,
        stripe_classified.description
    from stripe_classified
    left join id_map
        on id_map.id_type = 'stripe_customer' and stripe_classified.stripe_customer_id = id_map.source_id
    where stripe_classified.line_type <> 'left_out'

),

gateway_periods as (

    -- the attempt the MRR engine counts for each paid period, and the period's first
    -- attempt, whose id names the period's invoice
    select
        gateway_segments.source_row_id as transaction_id,
        gateway_segments.subscription_id,
        first_value(transactions.transaction_id) over (
            partition by gateway_segments.subscription_id, transactions.service_period_start
            order by transactions.created_at, transactions.transaction_id
        ) as invoice_id
    from gateway_segments
    inner join transactions
        on gateway_segments.subscription_id = transactions.gateway_subscription_id
        and gateway_segments.segment_start_epoch
        = {{ dbt.datediff("cast('1970-01-01' as date)", 'transactions.service_period_start', 'day') }}
        * cast(86400 as bigint)

),

gateway_period_invoices as (

    select distinct
        transaction_id,
        invoice_id
    from gateway_periods

),

gateway_subscription_items as (

    select
        transactions.transaction_id as external_id,
        transactions.gateway || '_' || gateway_period_invoices.invoice_id as invoice_external_id,
        coalesce(id_map.customer_id, transactions.account_id) as customer_external_id,
        transactions.gateway,
        'subscription' as line_type,
        transactions.plan_id,
        transactions.currency,
        case transactions.billing_interval when 'quarter' then 'month' else transactions.billing_interval end
            as billing_interval,
        case transactions.billing_interval when 'quarter' then 3 else 1 end as billing_interval_count,
        transactions.gateway_subscription_id as subscription_external_id,
        transactions.gateway_subscription_id as subscription_set_external_id,
        cast(transactions.service_period_start as timestamp) as service_period_start,
        cast(transactions.service_period_end as timestamp) as service_period_end,
        coalesce(transactions.quantity, 1) as quantity,
        transactions.amount_minor as amount_in_cents,
        cast(0 as bigint) as discount_amount_in_cents,
        cast(0 as bigint) as tax_amount_in_cents,
        false as prorated,
        cast(null as varchar) as description
    from gateway_period_invoices
    inner join transactions on gateway_period_invoices.transaction_id = transactions.transaction_id
    left join id_map on id_map.id_type = 'app_account' and transactions.account_id = id_map.source_id

),

gateway_one_time_items as (

    select
        transactions.transaction_id as external_id,
        transactions.gateway || '_' || transactions.transaction_id as invoice_external_id,
        coalesce(id_map.customer_id, transactions.account_id) as customer_external_id,
        transactions.gateway,
        'one_time' as line_type,
        transactions.plan_id,
        transactions.currency,
        cast(null as varchar) as billing_interval,
        cast(null as integer) as billing_interval_count,
        cast(null as varchar) as subscription_external_id,
        cast(null as varchar) as subscription_set_external_id,
        cast(null as timestamp) as service_period_start,
        cast(null as timestamp) as service_period_end,
        coalesce(transactions.quantity, 1) as quantity,
        transactions.amount_minor as amount_in_cents,
        cast(0 as bigint) as discount_amount_in_cents,
        cast(0 as bigint) as tax_amount_in_cents,
        false as prorated,
        transactions.product_type as description
    from transactions
    left join id_map on id_map.id_type = 'app_account' and transactions.account_id = id_map.source_id
    where
        transactions.product_type <> 'subscription'
        and transactions.status <> 'failed'
        and transactions.amount_minor >= 0

),

unioned as (

    select * from stripe_items
    union all
    select * from gateway_subscription_items
    union all
    select * from gateway_one_time_items

),

final as (

    select
        external_id,
        invoice_external_id,
        customer_external_id,
        gateway,
        line_type,
        case
            when line_type = 'subscription'
                then plan_id || '_' || lower(currency) || '_' || case
                    when billing_interval = 'month' and billing_interval_count = 1 then 'monthly'
                    when billing_interval = 'month' and billing_interval_count = 3 then 'quarterly'
                    when billing_interval = 'year' and billing_interval_count = 1 then 'annual'
                    else cast(billing_interval_count as varchar) || billing_interval
                end
        end as plan_external_id,
        subscription_external_id,
        subscription_set_external_id,
        service_period_start,
        service_period_end,
        cast(quantity as integer) as quantity,
        cast(amount_in_cents as bigint) as amount_in_cents,
        cast(discount_amount_in_cents as bigint) as discount_amount_in_cents,
        cast(tax_amount_in_cents as bigint) as tax_amount_in_cents,
        prorated,
        description,
        upper(currency) as currency
    from unioned

)

select * from final
