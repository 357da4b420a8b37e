{#- The KPI table: one row per day, KPI and segment, each value `actual`, `estimated` (only
    with var allow_estimates, method named) or `insufficient_data` (null, reason named).
    Daily KPIs (mrr, arr, arpa, paying_customers of `all`) have a row for every day; monthly
    ones one row per month, dated the month's last day or, for the current month, the as-of
    date. Values come from the marts that compute them; this model only reshapes them, marks
    their quality and, when allowed, estimates the gaps some KPIs may fill from history. -#}

{%- set as_of = as_of_date() %}
{%- set estimates = allow_estimates() %}
{%- set catalogue = kpi_catalogue() %}
{%- set targets = var('kpi_targets', {}) or {} %}
{%- for kpi, target in targets.items() %}
    {%- if kpi not in catalogue %}
        {{ exceptions.raise_compiler_error("var kpi_targets names an unknown KPI: " ~ kpi ~ " (known: " ~ (catalogue.keys() | join(', ')) ~ ")") }}
    {%- endif %}
    {%- if not modules.re.match('^-?[0-9]{1,12}(\\.[0-9]{1,6})?$', target | string | trim) %}
        {{ exceptions.raise_compiler_error("var kpi_targets: the target of " ~ kpi ~ " must be a number, got " ~ target) }}
    {%- endif %}
{%- endfor %}
{%- set mrr_gap = "case when data_quality <> 'actual' then 'MRR lacks an exchange rate for some customers (see mrr_summary_daily)' end" %}

with daily as (

    select * from {{ ref('mrr_summary_daily') }}
    where summary_date <= {{ as_of }}

),

monthly as (

    select
        *,
        {{ month_report_date('month') }} as report_date
    from {{ ref('mrr_summary_monthly') }}

),

economics as (

    select
        *,
        {{ month_report_date('month') }} as report_date
    from {{ ref('unit_economics_monthly') }}

),

activation as (

    select
        *,
        {{ month_report_date('month') }} as report_date
    from {{ ref('activation_monthly') }}
    where month <= {{ month_start(as_of) }}

),

segment_values as (

    select * from {{ ref('clv_segments_monthly') }}

),

kpi_values as (

    {{ kpi_rows('daily', 'summary_date', "'all'", {
        'mrr': 'mrr_end',
        'arr': 'arr',
        'arpa': 'arpa',
        'paying_customers': {'value': 'paying_customers_end', 'reason': 'null', 'ungated': true},
    }, reason_expr=mrr_gap, quality_column='data_quality') }}

    union all

    {{ kpi_rows('monthly', 'report_date', "'all'", {
        'mrr_growth_rate': 'mrr_growth_rate',
        'customer_churn_rate': 'customer_churn_rate',
        'gross_mrr_churn_rate': 'gross_mrr_churn_rate',
        'net_mrr_churn_rate': 'net_mrr_churn_rate',
        'nrr': 'nrr',
        'grr': 'grr',
        'quick_ratio': 'quick_ratio',
    }, reason_expr=mrr_gap | replace('mrr_summary_daily', 'mrr_summary_monthly'), quality_column='data_quality') }}

    union all

    {{ kpi_rows('economics', 'report_date', 'segment', {
        'cac': 'cac',
    }, reason_expr='reason') }}

    union all

    {{ kpi_rows("(select * from economics where segment = 'all') as company", 'report_date', "'all'", {
        'burn_rate': 'burn',
        'net_burn': 'net_burn',
        'gross_margin': 'gross_margin',
        'sales_efficiency': 'sales_efficiency',
    }, reason_expr='reason') }}

    union all

    {{ kpi_rows('activation', 'report_date', "'all'", {
        'trial_conversion_rate': 'trial_conversion_rate',
        'avg_days_to_convert': 'avg_days_to_convert',
        'avg_days_to_first_value': 'avg_days_to_first_value',
    }, reason_expr='reason') }}

    union all

    {{ kpi_rows('segment_values', 'report_date', 'segment', {
        'ltv': {'value': 'ltv', 'reason': 'ltv_reason', 'method': 'ltv_method'},
        'clv_cac_ratio': {
            'value': 'clv_cac_ratio',
            'reason': "nullif(concat_ws('; ', case when ltv is null then 'LTV: ' || ltv_reason end, case when cac is null then 'CAC over six months: ' || cac_reason end), '')",
            'method': "nullif(concat_ws('; ', ltv_method, cac_method), '')",
        },
        'cac_payback_months': {
            'value': 'cac_payback_months',
            'reason': "nullif(concat_ws('; ', case when cac is null then 'CAC over six months: ' || cac_reason end, case when gross_margin is null then 'gross margin: ' || gross_margin_reason end, case when arpa is null then 'ARPA: no paying customer or MRR lacks an exchange rate' end), '')",
            'method': 'cac_method',
        },
    }) }}

    union all

    -- the company-wide MRR figures come from the summaries above; segments from their month ends
    {{ kpi_rows("(select * from segment_values where segment <> 'all') as segments", 'report_date', 'segment', {
        'mrr': 'mrr',
        'arr': 'mrr * 12',
        'arpa': 'arpa',
        'paying_customers': {'value': 'paying_customers_end', 'reason': 'null'},
        'customer_churn_rate': 'customer_churn_rate',
    }, reason_expr="case when mrr is null then 'MRR lacks an exchange rate for some customers of the segment (see fct_mrr_monthly)' end") }}

),

{%- if estimates %}

with_history as (

    -- the KPIs that may be estimated: the average of the previous three months with an actual value
    select
        kpi_values.*,
        sum(case when value is not null and method is null then value end) over previous_months as history_sum,
        count(case when value is not null and method is null then value end) over previous_months as history_months
    from kpi_values
    window previous_months as (partition by kpi, segment order by kpi_date rows between 3 preceding and 1 preceding)

),

filled as (

    select
        kpi_date,
        kpi,
        segment,
        case when value is null and kpi in ('{{ kpi_estimable_from_history() | join("', '") }}') and history_months > 0
            then {{ exact_div('history_sum', 'history_months', 6, 6) }} else value end as value,
        source_reason,
        case when value is null and kpi in ('{{ kpi_estimable_from_history() | join("', '") }}') and history_months > 0
            then 'average of the ' || cast(history_months as varchar)
                || ' previous month(s) with an actual value (of the last three)'
            else method end as method
    from with_history

),

{%- else %}

filled as (

    select * from kpi_values

),

{%- endif %}

final as (

    select
        cast(segment || '|' || kpi || '|' || cast(kpi_date as varchar) as varchar) as kpi_id,
        kpi_date as date,
        kpi,
        segment,
        value,
        cast(case kpi
            {%- for kpi, spec in catalogue.items() %}
            when '{{ kpi }}' then '{{ reporting_currency() if spec.unit == "currency" else spec.unit }}'
            {%- endfor %}
        end as varchar) as unit,
        {%- if targets %}
        cast(case kpi
            {%- for kpi, target in targets.items() %}
            when '{{ kpi }}' then {{ target | string | trim }}
            {%- endfor %}
        end as decimal(18, 6)) as target,
        {%- else %}
        cast(null as decimal(18, 6)) as target,
        {%- endif %}
        cast(case
            when value is null then 'insufficient_data'
            when method is not null then 'estimated'
            else 'actual'
        end as varchar) as data_quality,
        cast(case
            when value is null or method is not null then coalesce(source_reason, case kpi
                {%- for kpi, spec in catalogue.items() %}
                when '{{ kpi }}' then '{{ spec.undefined }}'
                {%- endfor %}
            end)
        end as varchar) as reason,
        cast(case when value is not null then method end as varchar) as method
    from filled

)

select * from final
