{#- Small cross-database helpers (DuckDB and PostgreSQL). dbt hub packages cannot be
    installed everywhere, so these live here. -#}

{#- Unix seconds -> UTC timestamp without time zone. -#}
{% macro epoch_to_timestamp(column) -%}{{ return(adapter.dispatch('epoch_to_timestamp')(column)) }}{%- endmacro %}
{% macro default__epoch_to_timestamp(column) -%}
    (to_timestamp({{ column }}) at time zone 'UTC')
{%- endmacro %}
{% macro duckdb__epoch_to_timestamp(column) -%}
    make_timestamp(cast({{ column }} as bigint) * 1000000)
{%- endmacro %}

{#- Unix seconds -> the UTC calendar day. -#}
{% macro epoch_to_date(column) -%}
    (cast('1970-01-01' as date) + cast({{ int_div(column, 86400) }} as integer))
{%- endmacro %}

{#- timestamptz -> UTC timestamp without time zone. -#}
{% macro to_utc_timestamp(column) -%}
    ({{ column }} at time zone 'UTC')
{%- endmacro %}

{#- Exact integer division (floor for non-negative operands) on wide integers. -#}
{% macro int_div(numerator, denominator) -%}{{ return(adapter.dispatch('int_div')(numerator, denominator)) }}{%- endmacro %}
{% macro default__int_div(numerator, denominator) -%}
    div(cast({{ numerator }} as numeric), cast({{ denominator }} as numeric))
{%- endmacro %}
{% macro duckdb__int_div(numerator, denominator) -%}
    (cast({{ numerator }} as hugeint) // cast({{ denominator }} as hugeint))
{%- endmacro %}

{#- Integer division rounding halves away from zero, as Stripe rounds cents; the
    denominator must be positive. -#}
{% macro round_half_up_div(numerator, denominator) -%}
    (sign({{ numerator }}) * {{ int_div('2 * abs(' ~ numerator ~ ') + ' ~ denominator, '2 * (' ~ denominator ~ ')') }})
{%- endmacro %}

{#- Date arithmetic is dbt's own (dbt.dateadd, dbt.datediff, dbt.last_day, dbt.date_trunc,
    dbt.date_spine); month_start only adds the cast to a date that every caller needs. -#}

{#- First day of the month of a date, as a date. -#}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{#- A FROM-clause series of dates (`spine_at`, a timestamp) from start to end inclusive,
    step '1 day' or '1 month'; works on DuckDB and PostgreSQL. Here, not dbt.date_spine:
    the bounds are subqueries over the model's own CTEs, which dbt.date_spine cannot take
    (it counts the periods in a query of its own while compiling). -#}
{% macro date_series(start_date, end_date, step) -%}
    generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '{{ step }}') as spine(spine_at)
{%- endmacro %}
