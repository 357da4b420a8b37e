{#- The ChartMogul reconciliation's settings (dbt vars, defaults in dbt_project.yml; the
    loader reads the same ones: ingestion/chartmogul/settings.py), checked so a typo fails
    the build loudly. -#}

{% macro _reconciliation_int(name, default, minimum) -%}
    {%- set value = var(name, default) | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', value) or (value | int) < minimum -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a whole number of at least " ~ minimum ~ ", got " ~ value) }}
    {%- endif -%}
    {{ return(value | int) }}
{%- endmacro %}

{#- Days back from the as-of date compared day by day. -#}
{% macro reconciliation_days() -%}
    {{ return(_reconciliation_int('reconciliation_days', 30, 1)) }}
{%- endmacro %}

{#- Month ends before those days compared as well. -#}
{% macro reconciliation_month_ends() -%}
    {{ return(_reconciliation_int('reconciliation_month_ends', 12, 0)) }}
{%- endmacro %}

{#- Customers kept to explain a gap. -#}
{% macro reconciliation_top_customers() -%}
    {{ return(_reconciliation_int('reconciliation_top_customers', 10, 0)) }}
{%- endmacro %}

{#- The largest absolute variance (percent of ChartMogul's MRR) that still passes, as SQL. -#}
{% macro reconciliation_threshold_percent() -%}
    {%- set value = var('reconciliation_threshold_percent', '1.0') | string | trim -%}
    {%- if not modules.re.match('^[0-9]{1,4}(\.[0-9]{1,4})?$', value) -%}
        {{ exceptions.raise_compiler_error("var reconciliation_threshold_percent must be a percentage like 1.0 (up to 4 decimals), got " ~ value) }}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "' as decimal(8, 4))") }}
{%- endmacro %}

{#- A text column ordered by code point (as Python sorts strings), whatever the database's
    collation. -#}
{% macro codepoint_order(column) -%}{{ return(adapter.dispatch('codepoint_order')(column)) }}{%- endmacro %}
{% macro default__codepoint_order(column) -%}{{ column }}{%- endmacro %}
{% macro postgres__codepoint_order(column) -%}{{ column }} collate "C"{%- endmacro %}

{#- Integer division rounding halves to even (Python's Decimal.quantize default); both
    operands non-negative, the denominator positive. -#}
{% macro round_half_even_div(numerator, denominator) -%}
    {%- set q = int_div(numerator, denominator) -%}
    ({{ q }} + case
        when 2 * (({{ numerator }}) - {{ q }} * ({{ denominator }})) > ({{ denominator }}) then 1
        when 2 * (({{ numerator }}) - {{ q }} * ({{ denominator }})) = ({{ denominator }}) then mod({{ q }}, 2)
        else 0 end)
{%- endmacro %}

{#- Pre-hook of the reconciliation marts: a check of an as-of date ChartMogul was read for
    replaces every earlier row of that date, also when it now has fewer rows (or none: no
    customer differs any more). Without a ChartMogul read for the date nothing is touched. -#}
{% macro reconciliation_replace_as_of() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where as_of = {{ as_of_date() }}
        and exists (
            select 1 from {{ ref('stg_chartmogul__account') }} where as_of = {{ as_of_date() }}
        )
    {%- endif -%}
{%- endmacro %}
