{#- Stripe has no list of the tax rates used on invoices here; every rate in use is
    embedded in the subscription items that carry it, so they are collected from there. -#}

with source as (

    {{ source_or_empty('stripe', 'subscriptions__items__tax_rates', {
        'id': 'varchar', 'percentage': 'double', 'inclusive': 'boolean',
        'country': 'varchar', 'state': 'varchar', 'display_name': 'varchar'}) }}

),

renamed as (

    select
        id as tax_rate_id,
        display_name,
        country,
        state,
        -- Stripe sends the percentage as a JSON number; basis points are exact integers
        cast(round(cast(percentage as decimal(12, 6)) * 100) as integer) as percentage_bp,
        inclusive as is_inclusive
    from source

),

deduplicated as (

    select distinct
        tax_rate_id,
        display_name,
        country,
        state,
        percentage_bp,
        is_inclusive
    from renamed

)

select * from deduplicated
