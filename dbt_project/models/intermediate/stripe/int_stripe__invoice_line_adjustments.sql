{#- What changes a Stripe invoice line's amount into its value: one row per line with a
    discount or a tax. MRR (int_mrr__stripe_segments) and revenue
    (int_revenue__invoice_lines) both take the line amount net of these. A view: the
    incremental models filter it to the lines they rebuild. -#}

with discounts as (

    select * from {{ ref('stg_stripe__invoice_line_discounts') }}

),

taxes as (

    select * from {{ ref('stg_stripe__invoice_line_taxes') }}

),

line_discounts as (

    -- a line may carry several discounts (coupons stack)
    select
        invoice_line_row_id,
        sum(discount_minor) as discount_minor
    from discounts
    group by invoice_line_row_id

),

line_taxes as (

    -- inclusive tax is inside the line amount, exclusive tax on top of it; the inclusive
    -- rate lets a proration be valued net of the same tax
    select
        invoice_line_row_id,
        sum(case when is_inclusive then tax_minor else 0 end) as inclusive_tax_minor,
        sum(case when is_inclusive then 0 else tax_minor end) as exclusive_tax_minor,
        max(case when is_inclusive then tax_rate_id end) as inclusive_tax_rate_id
    from taxes
    group by invoice_line_row_id

),

final as (

    select
        coalesce(line_discounts.invoice_line_row_id, line_taxes.invoice_line_row_id) as invoice_line_row_id,
        coalesce(line_discounts.discount_minor, 0) as discount_minor,
        coalesce(line_taxes.inclusive_tax_minor, 0) as inclusive_tax_minor,
        coalesce(line_taxes.exclusive_tax_minor, 0) as exclusive_tax_minor,
        line_taxes.inclusive_tax_rate_id
    from line_discounts
    full outer join line_taxes on line_discounts.invoice_line_row_id = line_taxes.invoice_line_row_id

)

select * from final
