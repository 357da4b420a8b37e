{#- The build log: one row per successful build of the per-customer models (watermark,
    settings, as-of date). int_build__state reads the newest row to know what changed
    since; on-run-end appends a row only when every node of the run succeeded. -#}

{% macro build_log_relation() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=target.database, schema='intermediate', identifier='revwh_build_log')) }}
{%- endmacro %}

{% macro record_successful_build(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- set built_state = results | selectattr('node.name', 'equalto', 'int_build__state') | selectattr('status', 'equalto', 'success') | list -%}
    {%- if failed | length > 0 or built_state | length == 0 -%}{{ return('') }}{%- endif -%}
    {%- set state = built_state[0].node.relation_name -%}
    {%- if build_log_relation() is none -%}
        {%- call statement('create_build_log') -%}
            create table {{ adapter.quote('intermediate') }}.revwh_build_log as
            select watermark, settings_fingerprint, as_of_date, current_timestamp as recorded_at
            from {{ state }}
        {%- endcall -%}
    {%- else -%}
        {%- call statement('append_build_log') -%}
            insert into {{ adapter.quote('intermediate') }}.revwh_build_log
            select watermark, settings_fingerprint, as_of_date, current_timestamp as recorded_at
            from {{ state }}
        {%- endcall -%}
    {%- endif -%}
    {#- hooks run inside a transaction that dbt does not commit by itself -#}
    {%- do adapter.commit() -%}
    {{ return('') }}
{%- endmacro %}
