{#- Answers to the in-app NPS survey (0-10). The comment column exists only once someone
    wrote one. -#}
{%- set cols = source_columns('app', 'nps_responses') -%}

with source as (

    {{ source_or_empty('app', 'nps_responses', {
        'response_id': 'varchar', 'account_id': 'varchar', 'user_id': 'varchar',
        'score': 'bigint', 'responded_at': 'timestamptz', 'updated_at': 'timestamptz',
        '_dlt_load_id': 'varchar'}) }}

),

present as (

    select
        *,
        {{ column_or_null(cols, 'comment', 'varchar', 'comment_value') }}
    from source

),

renamed as (

    select
        response_id,
        account_id,
        user_id,
        cast(score as bigint) as score,
        comment_value as comment,
        {{ to_utc_timestamp('responded_at') }} as responded_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        _dlt_load_id as dlt_load_id
    from present

)

select * from renamed
