{%- set cols = source_columns('stripe', 'customers') -%}

with source as (

    {{ source_or_empty('stripe', 'customers', {
        'id': 'varchar', 'email': 'varchar', 'currency': 'varchar', 'delinquent': 'boolean',
        'created': 'bigint', '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        id as stripe_customer_id,
        email,
        {{ column_or_null(cols, 'name', 'varchar', 'customer_name') }},
        lower(currency) as currency,
        {{ column_or_null(cols, 'address__country', 'varchar', 'country') }},
        {{ column_or_null(cols, 'metadata__app_user_id', 'varchar', 'app_user_id') }},
        {{ column_or_null(cols, 'metadata__app_account_id', 'varchar', 'app_account_id') }},
        coalesce(delinquent, false) as is_delinquent,
        {{ epoch_to_timestamp('created') }} as created_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
