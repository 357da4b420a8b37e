{#- What happened to Stripe invoices after they were issued: payments (succeeded charges),
    refunds and credit notes, each split over the revenue types of its invoice. One row per
    document (charge | refund | credit_note) and revenue type.

    A document names one invoice, not its lines, so its amount is shared out in proportion
    to the invoice's lines: cash (charges, refunds) by what the customer paid for each type
    (gross, tax included), credit notes (valued without tax) by the net amounts. Shares are
    rounded half away from zero and the cent left over goes to the largest type, so a
    document's parts add up to it exactly. A document without a usable invoice (a charge
    outside invoicing, an invoice with no positive total) is `one_time` as a whole.

    uncredited_refund_minor: the part of a refund that no credit note settles, without its
    tax share (refund x invoice total_excluding_tax / total). Refunds that settle a credit
    note are already revenue lost through `credited_minor`; the others reduce revenue here.

    Incremental: a build deletes and re-inserts the documents of the Stripe customers in
    int_build__rebuild_scope (a refund belongs to its charge's customer when it names
    none). -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='stripe_customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with lines as (

    -- built earlier in this run
    select * from {{ ref('int_revenue__invoice_lines') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

charges as (

    -- every charge: a refund that names no customer takes its charge's
    select * from {{ ref('stg_stripe__charges') }}

),

refunds as (

    select * from {{ ref('stg_stripe__refunds') }}

),

credit_notes as (

    select * from {{ ref('stg_stripe__credit_notes') }}
    {%- if is_incremental() %}
    where {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

type_shares as (

    select
        invoice_id,
        revenue_type,
        sum(net_amount_minor) as net_minor,
        sum(gross_amount_minor) as gross_minor
    from lines
    group by invoice_id, revenue_type

),

invoice_totals as (

    select
        invoice_id,
        sum(net_minor) as net_minor,
        sum(gross_minor) as gross_minor
    from type_shares
    group by invoice_id

),

paid_charges as (

    select
        'charge' as document_type,
        charge_id as document_id,
        'collected' as measure,
        'gross' as allocation_basis,
        invoice_id,
        stripe_customer_id,
        currency,
        created_date as revenue_date,
        amount_captured_minor as amount_minor
    from charges
    where status = 'succeeded' and amount_captured_minor <> 0
    {%- if is_incremental() %}
        and {{ in_rebuild_scope('stripe_customer_id', 'stripe_customer') }}
    {%- endif %}

),

refunds_with_charge as (

    select
        refunds.refund_id,
        charges.invoice_id,
        coalesce(refunds.stripe_customer_id, charges.stripe_customer_id) as stripe_customer_id,
        refunds.currency,
        refunds.created_date,
        refunds.amount_minor,
        refunds.amount_minor - least(refunds.credit_note_refunded_minor, refunds.amount_minor) as uncredited_minor
    from refunds
    left join charges on refunds.charge_id = charges.charge_id
    -- a refund takes the money back once created; failed or canceled ones return it
    where refunds.status not in ('failed', 'canceled') and refunds.amount_minor <> 0
    {%- if is_incremental() %}
        and {{ in_rebuild_scope('coalesce(refunds.stripe_customer_id, charges.stripe_customer_id)', 'stripe_customer') }}
    {%- endif %}

),

refunded as (

    select
        'refund' as document_type,
        refund_id as document_id,
        'refunded' as measure,
        'gross' as allocation_basis,
        invoice_id,
        stripe_customer_id,
        currency,
        created_date as revenue_date,
        amount_minor
    from refunds_with_charge

),

uncredited_refunds as (

    select
        'refund' as document_type,
        refunds_with_charge.refund_id as document_id,
        'uncredited_refund' as measure,
        'net' as allocation_basis,
        refunds_with_charge.invoice_id,
        refunds_with_charge.stripe_customer_id,
        refunds_with_charge.currency,
        refunds_with_charge.created_date as revenue_date,
        case
            when invoice_totals.gross_minor > 0
                then {{ round_half_up_div(
                    'refunds_with_charge.uncredited_minor * invoice_totals.net_minor', 'invoice_totals.gross_minor') }}
            else refunds_with_charge.uncredited_minor
        end as amount_minor
    from refunds_with_charge
    left join invoice_totals on refunds_with_charge.invoice_id = invoice_totals.invoice_id
    where refunds_with_charge.uncredited_minor <> 0

),

credited as (

    select
        'credit_note' as document_type,
        credit_note_id as document_id,
        'credited' as measure,
        'net' as allocation_basis,
        invoice_id,
        stripe_customer_id,
        currency,
        created_date as revenue_date,
        total_excluding_tax_minor as amount_minor
    from credit_notes
    where status <> 'void' and total_excluding_tax_minor <> 0

),

documents as (

    select * from paid_charges
    union all
    select * from refunded
    union all
    select * from uncredited_refunds
    union all
    select * from credited

),

with_shares as (

    select
        documents.*,
        type_shares.revenue_type as share_revenue_type,
        case
            when documents.allocation_basis = 'gross' then type_shares.gross_minor
            else type_shares.net_minor
        end as part_basis_minor,
        case
            when documents.allocation_basis = 'gross' then invoice_totals.gross_minor
            else invoice_totals.net_minor
        end as whole_basis_minor
    from documents
    left join invoice_totals
        on documents.invoice_id = invoice_totals.invoice_id
        and (
            case
                when documents.allocation_basis = 'gross' then invoice_totals.gross_minor
                else invoice_totals.net_minor
            end
        ) > 0
    left join type_shares
        on invoice_totals.invoice_id = type_shares.invoice_id

),

shared as (

    select
        document_type,
        document_id,
        measure,
        invoice_id,
        stripe_customer_id,
        currency,
        revenue_date,
        amount_minor,
        coalesce(share_revenue_type, 'one_time') as revenue_type,
        case
            when share_revenue_type is null then amount_minor
            else {{ round_half_up_div('amount_minor * part_basis_minor', 'whole_basis_minor') }}
        end as share_minor,
        row_number() over (
            partition by document_type, document_id, measure
            order by part_basis_minor desc, share_revenue_type asc
        ) as share_rank
    from with_shares

),

allocated as (

    -- the rounding remainder goes to the largest share
    select
        *,
        share_minor + case
            when share_rank = 1
                then amount_minor - sum(share_minor) over (partition by document_type, document_id, measure)
            else 0
        end as allocated_minor
    from shared

),

pivoted as (

    select
        document_type || ':' || document_id || ':' || revenue_type as settlement_id,
        document_type,
        document_id,
        revenue_type,
        max(invoice_id) as invoice_id,
        max(stripe_customer_id) as stripe_customer_id,
        max(currency) as currency,
        max(revenue_date) as revenue_date,
        sum(case when measure = 'collected' then allocated_minor else 0 end) as collected_minor,
        sum(case when measure = 'refunded' then allocated_minor else 0 end) as refunded_minor,
        sum(case when measure = 'uncredited_refund' then allocated_minor else 0 end) as uncredited_refund_minor,
        sum(case when measure = 'credited' then allocated_minor else 0 end) as credited_minor
    from allocated
    group by document_type, document_id, revenue_type

)

select * from pivoted
