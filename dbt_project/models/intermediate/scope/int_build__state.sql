{#- One row describing this build and the previous one: the newest dlt load id (the
    watermark), the settings fingerprint and the as-of date. Per-customer models rebuild
    only what changed since the previous build's watermark, unless `rebuild_all`: the first
    build, `--full-refresh`, a changed setting or an as-of date moved back.

    The previous build is the newest row of the build log, which the on-run-end hook
    (macros/build_log.sql) appends only after a build in which every node succeeded: a
    failed build leaves the watermark where it was, so nothing it missed is skipped. -#}

{%- set fingerprint = mrr_settings_fingerprint() %}
{%- set log = build_log_relation() %}

with loads as (

    {%- for dataset in ['stripe', 'app', 'fx', 'costs'] %}
    {%- if not execute or source_relation_or_none(dataset, '_dlt_loads') is not none %}
    select max(load_id) as load_id from {{ source(dataset, '_dlt_loads') }}
    {%- else %}
    select cast(null as varchar) as load_id
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

previous_build as (

    {%- if log is not none and not flags.FULL_REFRESH %}
    select watermark, settings_fingerprint, as_of_date
    from {{ log }}
    order by recorded_at desc
    limit 1
    {%- else %}
    select
        cast(null as varchar) as watermark,
        cast(null as varchar) as settings_fingerprint,
        cast(null as date) as as_of_date
    {%- endif %}

),

this_build as (

    select
        coalesce((select max(load_id) from loads), '0') as watermark,
        '{{ fingerprint }}' as settings_fingerprint,
        {{ as_of_date() }} as as_of_date

),

final as (

    select
        this_build.watermark,
        this_build.settings_fingerprint,
        this_build.as_of_date,
        previous_build.watermark as previous_watermark,
        previous_build.as_of_date as previous_as_of_date,
        previous_build.watermark is null
        or previous_build.settings_fingerprint <> this_build.settings_fingerprint
        or this_build.as_of_date < previous_build.as_of_date as rebuild_all,
        -- a new month adds a row for every paying customer to the monthly facts
        previous_build.as_of_date is null
        or {{ month_start('previous_build.as_of_date') }} <> {{ month_start('this_build.as_of_date') }}
            as is_new_month
    from this_build
    left join previous_build on true
)

select * from final
