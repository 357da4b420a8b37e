{#- Per finalized Stripe invoice, the invoiced lines add up to what Stripe says:
      sum(amount)                                    = subtotal
      sum(amount - discounts - inclusive tax)  (net) = total_excluding_tax
      sum(amount - discounts + exclusive tax) (gross) = total
    Returns the invoices that do not. -#}
{%- set cols = source_columns('stripe', 'invoices') %}

with invoices as (

    select * from {{ ref('stg_stripe__invoices') }}
    where status in ('paid', 'open', 'uncollectible')

),

raw_invoices as (

    select
        id as invoice_id,
        {{ column_or_null(cols, 'total_excluding_tax', 'bigint') }}
    -- like the staging models: an account with no invoice yet has no table
    from ({{ source_or_empty('stripe', 'invoices', {'id': 'varchar'}) }}) as source

),

lines as (

    select
        invoice_id,
        sum(amount_minor) as amount_minor,
        sum(net_amount_minor) as net_minor,
        sum(gross_amount_minor) as gross_minor
    from {{ ref('int_revenue__invoice_lines') }}
    group by invoice_id

),

compared as (

    select
        invoices.invoice_id,
        invoices.subtotal_minor,
        coalesce(lines.amount_minor, 0) as lines_amount_minor,
        raw_invoices.total_excluding_tax,
        coalesce(lines.net_minor, 0) as lines_net_minor,
        invoices.total_minor,
        coalesce(lines.gross_minor, 0) as lines_gross_minor
    from invoices
    left join raw_invoices on invoices.invoice_id = raw_invoices.invoice_id
    left join lines on invoices.invoice_id = lines.invoice_id

)

select *
from compared
where
    lines_amount_minor <> subtotal_minor
    or lines_gross_minor <> total_minor
    -- older API versions do not send total_excluding_tax
    or (total_excluding_tax is not null and lines_net_minor <> total_excluding_tax)
