{%- set cols = source_columns('stripe', 'invoices__lines__taxes') -%}

with source as (

    {{ source_or_empty('stripe', 'invoices__lines__taxes', {
        '_dlt_parent_id': 'varchar', 'amount': 'bigint', 'tax_behavior': 'varchar',
        'taxable_amount': 'bigint', 'tax_rate_details__tax_rate': 'varchar'}) }}

),

renamed as (

    select
        _dlt_parent_id as invoice_line_row_id,
        amount as tax_minor,
        taxable_amount as taxable_minor,
        tax_behavior,
        tax_behavior = 'inclusive' as is_inclusive,
        tax_rate_details__tax_rate as tax_rate_id
    from source

)

select * from renamed
