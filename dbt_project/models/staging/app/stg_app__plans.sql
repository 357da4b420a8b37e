with source as (

    select * from {{ source('app', 'plans') }}

),

renamed as (

    select
        plan_id,
        name as plan_name,
        is_free,
        per_seat as is_per_seat,
        single_user as is_single_user,
        max_seats,
        monthly_event_limit,
        list_price_usd_monthly_minor
    from source

)

select * from renamed
