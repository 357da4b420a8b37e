{#- fct_revenue's totals per gateway and currency equal the source documents' totals,
    in minor units, computed here straight from staging (no allocation, no customer map,
    no FX):
      invoiced  = finalized Stripe invoices' total_excluding_tax-equivalent lines (net)
                  + the other gateways' succeeded or refunded payments
      collected = succeeded Stripe charges (captured) + those gateway payments
      refunded  = Stripe refunds not failed or canceled + gateway refunds
      credited  = Stripe credit notes not void (total excluding tax)
    Returns the gateway/currency pairs that differ. -#}

with stripe_invoiced as (

    select
        'stripe' as gateway,
        currency,
        sum(net_amount_minor) as invoiced_minor,
        0 as collected_minor,
        0 as refunded_minor,
        0 as credited_minor
    from {{ ref('int_revenue__invoice_lines') }}
    group by currency

),

stripe_collected as (

    select
        'stripe' as gateway,
        currency,
        0 as invoiced_minor,
        sum(amount_captured_minor) as collected_minor,
        0 as refunded_minor,
        0 as credited_minor
    from {{ ref('stg_stripe__charges') }}
    where status = 'succeeded'
    group by currency

),

stripe_refunded as (

    select
        'stripe' as gateway,
        currency,
        0 as invoiced_minor,
        0 as collected_minor,
        sum(amount_minor) as refunded_minor,
        0 as credited_minor
    from {{ ref('stg_stripe__refunds') }}
    where status not in ('failed', 'canceled')
    group by currency

),

stripe_credited as (

    select
        'stripe' as gateway,
        currency,
        0 as invoiced_minor,
        0 as collected_minor,
        0 as refunded_minor,
        sum(total_excluding_tax_minor) as credited_minor
    from {{ ref('stg_stripe__credit_notes') }}
    where status <> 'void'
    group by currency

),

gateway_paid as (

    select
        lower(gateway) as gateway,
        currency,
        sum(amount_minor) as invoiced_minor,
        sum(amount_minor) as collected_minor,
        sum(case
            when refunded_amount_minor > 0 then refunded_amount_minor
            when status = 'refunded' then amount_minor
            else 0
        end) as refunded_minor,
        0 as credited_minor
    from {{ ref('stg_app__transactions') }}
    where status in ('succeeded', 'refunded')
    group by lower(gateway), currency

),

expected_parts as (

    select * from stripe_invoiced
    union all
    select * from stripe_collected
    union all
    select * from stripe_refunded
    union all
    select * from stripe_credited
    union all
    select * from gateway_paid

),

expected as (

    select
        gateway,
        currency,
        sum(invoiced_minor) as invoiced_minor,
        sum(collected_minor) as collected_minor,
        sum(refunded_minor) as refunded_minor,
        sum(credited_minor) as credited_minor
    from expected_parts
    group by gateway, currency

),

actual as (

    -- back to minor units, exactly
    select
        {%- for m in ['invoiced', 'collected', 'refunded', 'credited'] %}
        cast(
            sum({{ m }}_amount) * case when {{ currency_exponent('currency') }} = 0 then 1 else 100 end
            as decimal(38, 0)
        ) as {{ m }}_minor,
        {%- endfor %}
        gateway,
        currency
    from {{ ref('fct_revenue') }}
    group by gateway, currency

)

select
    coalesce(expected.gateway, actual.gateway) as gateway,
    coalesce(expected.currency, actual.currency) as currency,
    expected.invoiced_minor as expected_invoiced_minor,
    actual.invoiced_minor as actual_invoiced_minor,
    expected.collected_minor as expected_collected_minor,
    actual.collected_minor as actual_collected_minor,
    expected.refunded_minor as expected_refunded_minor,
    actual.refunded_minor as actual_refunded_minor,
    expected.credited_minor as expected_credited_minor,
    actual.credited_minor as actual_credited_minor
from expected
full outer join actual
    on expected.gateway = actual.gateway
    and expected.currency = actual.currency
where
    coalesce(expected.invoiced_minor, 0) <> coalesce(actual.invoiced_minor, 0)
    or coalesce(expected.collected_minor, 0) <> coalesce(actual.collected_minor, 0)
    or coalesce(expected.refunded_minor, 0) <> coalesce(actual.refunded_minor, 0)
    or coalesce(expected.credited_minor, 0) <> coalesce(actual.credited_minor, 0)
