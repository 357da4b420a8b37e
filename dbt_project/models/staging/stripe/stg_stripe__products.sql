with source as (

    {{ source_or_empty('stripe', 'products', {
        'id': 'varchar', 'name': 'varchar', 'active': 'boolean', 'created': 'bigint'}) }}

),

renamed as (

    select
        id as product_id,
        name as product_name,
        active as is_active,
        {{ epoch_to_timestamp('created') }} as created_at
    from source

)

select * from renamed
