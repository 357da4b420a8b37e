{#- The MRR rules' settings (dbt vars), checked once so a typo fails the run loudly. -#}

{% macro as_of_date() -%}
    {%- set value = var('as_of', none) -%}
    {%- if value is none or value == '' -%}
        current_date
    {%- else -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error("var as_of must be YYYY-MM-DD, got " ~ value) }}
        {%- endif -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro reporting_currency() -%}
    {%- set value = var('reporting_currency', 'USD') | string | upper -%}
    {%- if not modules.re.match('^[A-Z]{3}$', value) -%}
        {{ exceptions.raise_compiler_error("var reporting_currency must be an ISO code like USD, got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro churn_recognition() -%}
    {%- set value = var('churn_recognition', 'ended') -%}
    {%- if value not in ('ended', 'requested') -%}
        {{ exceptions.raise_compiler_error("var churn_recognition must be 'ended' or 'requested', got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro unpaid_is_churn() -%}
    {%- set value = var('unpaid_is_churn', false) -%}
    {%- if value is string -%}{%- set value = value | lower in ('true', '1', 'yes') -%}{%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- One string naming every setting that changes MRR history; stored on each row of the
    incremental MRR models so a changed setting triggers a full rebuild. -#}
{% macro mrr_settings_fingerprint() -%}
    {{ return(reporting_currency() ~ '|' ~ churn_recognition() ~ '|' ~ unpaid_is_churn() ~ '|' ~ var('gateway_retry_days', 1)) }}
{%- endmacro %}

{#- True for a row of the given source id when this build recomputes its customer: always
    in a full build, else when the customer is in int_build__rebuild_scope. Used early in the
    per-customer models, before any window or join, so an hourly run reads only the rows of
    the customers that changed. -#}
{% macro in_rebuild_scope(column, id_type) -%}
    ((select rebuild_all from {{ ref('int_build__state') }})
        or {{ column }} in (
            select source_id from {{ ref('int_build__rebuild_scope') }} where id_type = '{{ id_type }}'))
{%- endmacro %}

{#- The same test for a unified customer id. -#}
{% macro customer_in_rebuild_scope(column) -%}
    ((select rebuild_all from {{ ref('int_build__state') }})
        or {{ column }} in (select customer_id from {{ ref('int_build__rebuild_scope') }}))
{%- endmacro %}

{#- True for a customer whose rows in a per-customer mart this build recomputes: everyone in
    a full build (or, with `monthly`, on the first build of a new month), the customers in
    the rebuild scope, and those with an MRR change that the as-of date has just reached
    (a cancellation scheduled for the end of a period becomes visible without new data). -#}
{% macro mart_customer_in_refresh(column, monthly=false) -%}
    ((select rebuild_all{% if monthly %} or is_new_month{% endif %} from {{ ref('int_build__state') }})
        or {{ column }} in (select customer_id from {{ ref('int_build__rebuild_scope') }})
        or {{ column }} in (
            select customer_id from {{ ref('int_mrr__customer_days') }}
            where change_date > (select previous_as_of_date from {{ ref('int_build__state') }})
                and change_date <= (select as_of_date from {{ ref('int_build__state') }})))
{%- endmacro %}
