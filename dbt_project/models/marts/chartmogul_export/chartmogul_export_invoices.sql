{#- ChartMogul's invoices, one row per invoice sent: every invoice with at least one line
    in chartmogul_export_line_items (ChartMogul refuses an invoice without lines).
    `external_id` is `<gateway>_<invoice id>`; a PayPal or local-gateway invoice is a paid
    subscription period, named by the period's first payment attempt, or a one-off
    purchase. -#}

with line_items as (

    select * from {{ ref('chartmogul_export_line_items') }}

),

stripe_invoices as (

    select * from {{ ref('stg_stripe__invoices') }}

),

transactions as (

    select * from {{ ref('stg_app__transactions') }}

),

invoices_sent as (

    select
        invoice_external_id,
        min(customer_external_id) as customer_external_id,
        min(gateway) as gateway,
        min(currency) as currency,
        count(*) as line_items
    from line_items
    group by invoice_external_id

),

dated as (

    select
        invoices_sent.*,
        coalesce(stripe_invoices.created_at, transactions.created_at) as invoice_date
    from invoices_sent
    left join stripe_invoices
        on invoices_sent.gateway = 'stripe'
        and invoices_sent.invoice_external_id = 'stripe_' || stripe_invoices.invoice_id
    left join transactions
        on invoices_sent.gateway <> 'stripe'
        and invoices_sent.invoice_external_id = transactions.gateway || '_' || transactions.transaction_id

),

final as (

    select
        invoice_external_id as external_id,
        customer_external_id,
        gateway,
        currency,
        invoice_date,
        cast(null as timestamp) as due_date,
        cast(line_items as integer) as line_items
    from dated

)

select * from final
