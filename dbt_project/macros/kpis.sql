{#- The KPI catalogue of marts.kpis: id -> unit and what a null means when its source row
    says nothing more. Units: `currency` becomes the reporting currency. -#}
{% macro kpi_catalogue() -%}
    {{ return({
        'mrr': {'unit': 'currency', 'undefined': 'no MRR data for the day'},
        'arr': {'unit': 'currency', 'undefined': 'no MRR data for the day'},
        'arpa': {'unit': 'currency', 'undefined': 'undefined: no paying customer'},
        'paying_customers': {'unit': 'customers', 'undefined': 'no MRR data for the day'},
        'mrr_growth_rate': {'unit': 'ratio', 'undefined': 'undefined: no MRR at the start of the month'},
        'customer_churn_rate': {'unit': 'ratio', 'undefined': 'undefined: no paying customer at the start of the month'},
        'gross_mrr_churn_rate': {'unit': 'ratio', 'undefined': 'undefined: no MRR at the start of the month'},
        'net_mrr_churn_rate': {'unit': 'ratio', 'undefined': 'undefined: no MRR at the start of the month'},
        'nrr': {'unit': 'ratio', 'undefined': 'undefined: no MRR at the start of the month'},
        'grr': {'unit': 'ratio', 'undefined': 'undefined: no MRR at the start of the month'},
        'quick_ratio': {'unit': 'ratio', 'undefined': 'undefined: no MRR lost in the month (contraction + churn = 0)'},
        'ltv': {'unit': 'currency', 'undefined': 'unknown'},
        'cac': {'unit': 'currency', 'undefined': 'undefined: no new paying customer in the month'},
        'clv_cac_ratio': {'unit': 'ratio', 'undefined': 'undefined: CAC is 0'},
        'cac_payback_months': {'unit': 'months', 'undefined': 'undefined: ARPA x gross margin is 0'},
        'burn_rate': {'unit': 'currency', 'undefined': 'unknown'},
        'net_burn': {'unit': 'currency', 'undefined': 'unknown'},
        'gross_margin': {'unit': 'ratio', 'undefined': 'undefined: no revenue in the month'},
        'sales_efficiency': {'unit': 'ratio', 'undefined': 'undefined: no sales and marketing cost in the month'},
        'trial_conversion_rate': {'unit': 'ratio', 'undefined': 'undefined: no trial ended in the month'},
        'avg_days_to_convert': {'unit': 'days', 'undefined': 'undefined: no trial converted in the month'},
        'avg_days_to_first_value': {'unit': 'days', 'undefined': 'undefined: no account that signed up in the month has reached first value'},
    }) }}
{%- endmacro %}

{#- KPIs whose gaps (a month without cost sheets) may be estimated from earlier months. -#}
{% macro kpi_estimable_from_history() -%}
    {{ return(['cac', 'burn_rate', 'net_burn', 'gross_margin', 'sales_efficiency']) }}
{%- endmacro %}

{#- The day a month's values stand for: its last day, or the as-of date for the current month. -#}
{% macro month_report_date(month) -%}
    case when {{ month }} = {{ month_start(as_of_date()) }} then {{ as_of_date() }} else {{ dbt.last_day(month, 'month') }} end
{%- endmacro %}

{#- One long-format select of KPI rows from a wide relation. `kpis` maps a KPI id to its value
    expression, or to {value, reason, method} to override the relation-wide reason and method;
    `quality_column`, when given, nulls the values of rows that are neither actual nor estimated
    (the MRR summaries keep partial sums on rows that lack an exchange rate), except for KPIs
    marked `ungated` (counts, which no exchange rate affects). -#}
{% macro kpi_rows(relation, date_expr, segment_expr, kpis, reason_expr='null', quality_column=none, method_expr='null') -%}
    {%- for kpi, spec in kpis.items() %}
    {%- set spec = spec if spec is mapping else {'value': spec} %}
    select
        cast({{ date_expr }} as date) as kpi_date,
        cast('{{ kpi }}' as varchar) as kpi,
        cast({{ segment_expr }} as varchar) as segment,
        cast({% if quality_column and not spec.get('ungated') %}case when {{ quality_column }} in ('actual', 'estimated') then {{ spec.value }} end{% else %}{{ spec.value }}{% endif %} as decimal(18, 6)) as value,
        cast({{ spec.get('reason', reason_expr) }} as varchar) as source_reason,
        cast({{ spec.get('method', method_expr) }} as varchar) as method
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
