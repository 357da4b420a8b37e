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
