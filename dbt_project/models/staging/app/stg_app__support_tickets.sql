{#- Support tickets opened by the app's accounts. dlt adds a nullable column only when its
    first value arrives (no ticket rated or solved yet), and `opened_at` came after
    `created_at` in an app migration: such columns are read through the macros so a young
    account still builds. -#}
{%- set cols = source_columns('app', 'support_tickets') -%}

with source as (

    {{ source_or_empty('app', 'support_tickets', {
        'ticket_id': 'varchar', 'account_id': 'varchar', 'user_id': 'varchar',
        'category': 'varchar', 'priority': 'varchar', 'status': 'varchar',
        'created_at': 'timestamptz', 'updated_at': 'timestamptz', '_dlt_load_id': 'varchar'}) }}

),

present as (

    select
        *,
        {{ coalesce_columns(cols, ['opened_at', 'created_at'], 'timestamptz', 'opened_at_value') }},
        {{ column_or_null(cols, 'first_response_at', 'timestamptz', 'first_response_at_value') }},
        {{ column_or_null(cols, 'resolved_at', 'timestamptz', 'resolved_at_value') }},
        {{ column_or_null(cols, 'satisfaction_score', 'bigint', 'satisfaction_score_value') }}
    from source

),

renamed as (

    select
        ticket_id,
        account_id,
        user_id,
        category,
        priority,
        status,
        {{ to_utc_timestamp('opened_at_value') }} as opened_at,
        {{ to_utc_timestamp('first_response_at_value') }} as first_response_at,
        {{ to_utc_timestamp('resolved_at_value') }} as resolved_at,
        satisfaction_score_value as satisfaction_score,
        {{ to_utc_timestamp('created_at') }} as created_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as dlt_load_id
    from present

)

select * from renamed
