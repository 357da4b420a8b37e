{#- Money arithmetic without floats. MRR is carried as an integer number of ten-thousandths
    of a major unit ("mrr4") until it is shown, so sums are exact and rounding happens once,
    half away from zero, where MRR_RULES.md says it does. -#}

{#- Digits after the decimal point of a currency's minor unit (Stripe's zero-decimal list). -#}
{% macro currency_exponent(currency) -%}
    case when lower({{ currency }}) in ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
        'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf') then 0 else 2 end
{%- endmacro %}

{#- Minor units charged per billing period -> mrr4 (ten-thousandths of a major unit per
    month): a yearly price is /12, `interval_count` 3 months /3, weekly x52/12, daily x365/12. -#}
{% macro monthly_mrr4(amount_minor, currency, interval, interval_count) -%}
    {{ round_half_up_div(
        '(' ~ amount_minor ~ ') * (case when ' ~ currency_exponent(currency) ~ ' = 0 then 10000 else 100 end)'
            ~ ' * (case ' ~ interval ~ " when 'week' then 52 when 'day' then 365 else 1 end)",
        '(case ' ~ interval ~ " when 'year' then 12 when 'week' then 12 when 'day' then 12 else 1 end) * (" ~ interval_count ~ ')'
    ) }}
{%- endmacro %}

{#- mrr4 integer -> DECIMAL(18,4) major units, exactly. -#}
{% macro mrr4_to_decimal(mrr4) -%}
    cast(cast({{ mrr4 }} as decimal(38, 0)) * cast(0.0001 as decimal(5, 4)) as decimal(18, 4))
{%- endmacro %}

{#- Minor units -> DECIMAL(18,2) major units of the currency, exactly. -#}
{% macro minor_to_major(amount_minor, currency) -%}
    {#- both branches one DECIMAL type: DuckDB would otherwise settle on the one without cents -#}
    cast(cast({{ amount_minor }} as decimal(38, 0)) * case when {{ currency_exponent(currency) }} = 0
        then cast(1 as decimal(3, 2)) else cast(0.01 as decimal(3, 2)) end as decimal(18, 2))
{%- endmacro %}

{#- Amount x exchange rate, rounded half away from zero to `places` (DECIMAL stays exact). -#}
{% macro convert_amount(amount, rate, places=4) -%}
    cast(round({{ amount }} * {{ rate }}, {{ places }}) as decimal(18, {{ places }}))
{%- endmacro %}

{#- DECIMAL money / whole count, exact to 4 places (half away from zero); null on 0. -#}
{% macro divide_money(amount, count) -%}
    case when coalesce({{ count }}, 0) = 0 then null else
        {{ mrr4_to_decimal(round_half_up_div('cast(' ~ amount ~ ' * 10000 as decimal(38, 0))', count)) }}
    end
{%- endmacro %}

{#- A ratio of two DECIMAL amounts (or counts) as DECIMAL(18,6); null when the denominator is 0. -#}
{% macro ratio(numerator, denominator) -%}
    case when coalesce({{ denominator }}, 0) = 0 then null else
        cast(cast({{ round_half_up_div('cast((' ~ numerator ~ ') * 10000 as decimal(38, 0)) * 1000000', 'cast((' ~ denominator ~ ') * 10000 as decimal(38, 0))') }} as decimal(38, 0)) * cast(0.000001 as decimal(7, 6)) as decimal(18, 6))
    end
{%- endmacro %}

{#- numerator / denominator as DECIMAL(18, places), rounded half away from zero; null when the
    denominator is 0. `input_places` must cover the scale of both inputs (they are scaled to
    integers first, so nothing is lost to a float or a truncating cast). -#}
{% macro exact_div(numerator, denominator, places=4, input_places=6) -%}
    {%- set input_scale = '1' ~ ('0' * input_places) -%}
    {%- set output_scale = '1' ~ ('0' * places) -%}
    case when coalesce({{ denominator }}, 0) = 0 then null else
        cast(cast({{ round_half_up_div(
            'cast((' ~ numerator ~ ') * ' ~ input_scale ~ ' as decimal(38, 0)) * ' ~ output_scale,
            'cast((' ~ denominator ~ ') * ' ~ input_scale ~ ' as decimal(38, 0))'
        ) }} as decimal(38, 0)) * cast(1.0 / {{ output_scale }} as decimal({{ places + 1 }}, {{ places }})) as decimal(18, {{ places }}))
    end
{%- endmacro %}
