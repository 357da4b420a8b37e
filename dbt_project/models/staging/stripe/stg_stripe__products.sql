with source as (

    select * from {{ source('stripe', 'products') }}

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
