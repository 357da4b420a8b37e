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

{#- Whole days from one date to a later one. -#}
{% macro days_between(start_date, end_date) -%}
    (cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}

{#- Add whole days to a date, giving a date. -#}
{% macro add_days(date_expr, days) -%}
    (cast({{ date_expr }} as date) + cast({{ days }} as integer))
{%- endmacro %}

{#- First day of the month of a date, as a date. -#}
{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{#- Last day of the month of a date. -#}
{% macro month_end(date_expr) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, month_start(date_expr))) }} as date)
{%- endmacro %}

{#- A FROM-clause series of dates (`spine_at`, a timestamp) from start to end inclusive,
    step '1 day' or '1 month'; works on DuckDB and PostgreSQL. -#}
{% macro date_series(start_date, end_date, step) -%}
    generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '{{ step }}') as spine(spine_at)
{%- endmacro %}
