with source as (

    {{ source_or_empty('stripe', 'invoices__lines__discount_amounts', {
        '_dlt_parent_id': 'varchar', 'amount': 'bigint', 'discount': 'varchar'}) }}

),

renamed as (

    select
        _dlt_parent_id as invoice_line_row_id,
        discount as discount_id,
        amount as discount_minor
    from source

)

select * from renamed
