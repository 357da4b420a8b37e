with source as (

    {{ source_or_empty('app', 'plans', {
        'plan_id': 'varchar', 'name': 'varchar', 'is_free': 'boolean', 'per_seat': 'boolean',
        'single_user': 'boolean', 'max_seats': 'bigint', 'monthly_event_limit': 'bigint',
        'list_price_usd_monthly_minor': 'bigint'}) }}

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
