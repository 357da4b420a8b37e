{#- Customer lifetime value per segment and month (MRR_RULES.md "Rates derived from the
    bridge"): LTV = ARPA / customer churn rate, the churn rate averaged over the six full
    months up to the reporting day (the month itself once it is complete, else the six before
    it). Fewer than three full months with paying customers is `insufficient_data`.
    Beside it, over the same window: CAC (sales, marketing and advertising cost / new paying
    customers), gross margin (revenue minus COGS / revenue), CLV:CAC and CAC payback months
    (CAC / (ARPA x gross margin)).
    Segments: `all`, `channel:<acquisition channel>` and `plan:<plan>` (the plan a customer is
    on now, or was on last). The cost sheets attribute spend to channels, not plans: a plan's
    CAC is unknown unless estimates are allowed, when the blended CAC stands in for it. -#}

{%- set as_of = as_of_date() %}
{%- set estimates = allow_estimates() %}

with customer_months as (

    select * from {{ ref('fct_mrr_monthly') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

unit_economics as (

    select * from {{ ref('unit_economics_monthly') }}

),

customer_segments as (

    select
        customer_id,
        cast('all' as varchar) as segment
    from customers
    union all
    select
        customer_id,
        cast('plan:' || coalesce(current_plan_id, 'unknown') as varchar) as segment
    from customers
    union all
    select
        customer_id,
        cast('channel:' || coalesce(acquisition_channel, 'unknown') as varchar) as segment
    from customers

),

segment_month_totals as (

    select
        customer_segments.segment,
        customer_months.month,
        sum(case when customer_months.is_paying_start then 1 else 0 end) as paying_customers_start,
        -- MRR_RULES.md: paying at the start and not at the end of the month
        sum(case
            when customer_months.is_paying_start and not customer_months.is_paying_end
                then 1
            else 0
        end) as customers_lost,
        sum(case when customer_months.is_paying_end then 1 else 0 end) as paying_customers_end,
        sum(customer_months.mrr) as mrr_end,
        max(case when customer_months.data_quality <> 'actual' then 1 else 0 end) as lacks_rate
    from customer_segments
    inner join customer_months on customer_segments.customer_id = customer_months.customer_id
    group by customer_segments.segment, customer_months.month

),

months as (

    select cast(spine_at as date) as month
    from {{ date_series('(select min(month) from customer_months)', month_start(as_of), '1 month') }}

),

segments as (

    select distinct segment from segment_month_totals

),

segment_months as (

    -- every segment has a row for every month, so a window of rows is a window of months
    select
        segments.segment,
        months.month,
        coalesce(totals.paying_customers_start, 0) as paying_customers_start,
        coalesce(totals.customers_lost, 0) as customers_lost,
        coalesce(totals.paying_customers_end, 0) as paying_customers_end,
        coalesce(totals.mrr_end, 0) as mrr_end,
        coalesce(totals.lacks_rate, 0) as lacks_rate,
        {{ ratio('totals.customers_lost', 'totals.paying_customers_start') }} as customer_churn_rate,
        -- the as-of month is complete only on its last day
        months.month < {{ month_start(as_of) }} or {{ as_of }} = {{ dbt.last_day(as_of, 'month') }} as is_complete_month
    from segments
    cross join months
    left join segment_month_totals as totals
        on segments.segment = totals.segment and months.month = totals.month

),

segment_costs as (

    -- a plan has no cost of its own: it takes the blended CAC only as an estimate
    select
        segment_months.segment,
        segment_months.month,
        costs.new_customers,
        case
            when segment_months.segment like 'plan:%' then null
            else costs.sales_marketing_cost
        end as sales_marketing_cost,
        blended.new_customers as blended_new_customers,
        blended.sales_marketing_cost as blended_sales_marketing_cost,
        blended.revenue,
        blended.gross_profit,
        case when segment_months.segment like 'plan:%' then null else costs.reason end as cost_reason,
        blended.reason as blended_reason
    from segment_months
    left join unit_economics as costs
        on segment_months.segment = costs.segment and segment_months.month = costs.month
    left join unit_economics as blended
        on blended.segment = 'all' and segment_months.month = blended.month

),

windowed as (

    -- two windows: the six months ending with this one (complete months) or before it
    select
        segment_months.*,
        {%- for frame, bounds in [('incl', '5 preceding and current row'), ('excl', '6 preceding and 1 preceding')] %}
        sum(segment_months.customer_churn_rate) over w_{{ frame }} as churn_rate_sum_{{ frame }},
        count(segment_months.customer_churn_rate) over w_{{ frame }} as history_months_{{ frame }},
        sum(coalesce(segment_costs.new_customers, 0)) over w_{{ frame }} as new_customers_{{ frame }},
        sum(segment_costs.sales_marketing_cost) over w_{{ frame }} as sm_cost_{{ frame }},
        sum(case when segment_costs.sales_marketing_cost is null then 1 else 0 end)
            over w_{{ frame }}
            as cost_gaps_{{ frame }},
        sum(coalesce(segment_costs.blended_new_customers, 0)) over w_{{ frame }} as blended_new_customers_{{ frame }},
        sum(segment_costs.blended_sales_marketing_cost) over w_{{ frame }} as blended_sm_cost_{{ frame }},
        sum(case when segment_costs.blended_sales_marketing_cost is null then 1 else 0 end)
            over w_{{ frame }}
            as blended_cost_gaps_{{ frame }},
        sum(segment_costs.revenue) over w_{{ frame }} as revenue_{{ frame }},
        sum(segment_costs.gross_profit) over w_{{ frame }} as gross_profit_{{ frame }},
        sum(case when segment_costs.gross_profit is null then 1 else 0 end)
            over w_{{ frame }}
            as margin_gaps_{{ frame }},
        count(*) over w_{{ frame }} as window_rows_{{ frame }},
        {%- endfor %}
        segment_costs.cost_reason,
        segment_costs.blended_reason
    from segment_months
    left join segment_costs
        on segment_months.segment = segment_costs.segment and segment_months.month = segment_costs.month
    window
        w_incl as (
            partition by segment_months.segment order by segment_months.month rows between 5 preceding and current row
        ),
        w_excl as (
            partition by segment_months.segment order by segment_months.month rows between 6 preceding and 1 preceding
        )

),

in_window as (

    -- the window that ends on the reporting day
    select
        segment,
        month,
        case when is_complete_month then {{ dbt.last_day('month', 'month') }} else {{ as_of }} end as report_date,
        is_complete_month,
        paying_customers_start,
        customers_lost,
        paying_customers_end,
        mrr_end,
        lacks_rate,
        customer_churn_rate,
        {%- for column in ['churn_rate_sum', 'history_months', 'new_customers', 'sm_cost', 'cost_gaps',
            'blended_new_customers', 'blended_sm_cost', 'blended_cost_gaps', 'revenue', 'gross_profit',
            'margin_gaps', 'window_rows'] %}
        case when is_complete_month then {{ column }}_incl else coalesce({{ column }}_excl, 0) end
            as window_{{ column }},
        {%- endfor %}
        cost_reason,
        blended_reason
    from windowed

),

measured as (

    select
        *,
        {{ divide_money('mrr_end', 'paying_customers_end') }} as arpa,
        {{ exact_div('window_churn_rate_sum', 'window_history_months', 6, 6) }} as avg_customer_churn_rate,
        case
            when window_cost_gaps = 0 and window_window_rows > 0
                then {{ divide_money('window_sm_cost', 'window_new_customers') }}
        end as actual_cac,
        case
            when window_blended_cost_gaps = 0 and window_window_rows > 0
                then {{ divide_money('window_blended_sm_cost', 'window_blended_new_customers') }}
        end as blended_cac,
        case
            when window_margin_gaps = 0 and window_revenue > 0
                then {{ ratio('window_gross_profit', 'window_revenue') }}
        end as gross_margin
    from in_window

),

valued as (

    select
        *,
        case
            when
                lacks_rate = 1
                then 'MRR lacks an exchange rate for some customers of the segment (see fct_mrr_monthly)'
            when paying_customers_end = 0 then 'no paying customers in the segment'
            when window_history_months = 0 then 'no full month with paying customers yet'
            when window_history_months < 3
                then 'fewer than 3 full months of customer history (' || cast(window_history_months as varchar) || ')'
            when avg_customer_churn_rate = 0
                then 'no customer churned in the window: the expected lifetime is unbounded'
        end as ltv_gap,
        case
            when segment like 'plan:%' then 'the cost sheets attribute acquisition cost to channels, not plans'
            when
                segment = 'channel:unknown'
                then 'acquisition channel unknown for these customers: their cost is only in the blended CAC'
            when window_cost_gaps > 0 or window_window_rows = 0
                then
                    'sales and marketing costs missing in the window: '
                    || coalesce(cost_reason, 'see unit_economics_monthly')
            when window_new_customers = 0 then 'no new paying customers in the window'
        end as cac_gap,
        case
            when window_margin_gaps > 0 or window_window_rows = 0
                then 'revenue or COGS missing in the window: ' || coalesce(blended_reason, 'see unit_economics_monthly')
            when coalesce(window_revenue, 0) <= 0 then 'no revenue in the window'
        end as gross_margin_gap
    from measured

),

estimated as (

    select
        *,
        case
            when ltv_gap is null then {{ exact_div('arpa', 'avg_customer_churn_rate', 4, 6) }}
            {%- if estimates %}
            -- estimate: the churn rate of the one or two full months there are
            when lacks_rate = 0 and paying_customers_end > 0 and window_history_months between 1 and 2
                and avg_customer_churn_rate > 0
                then {{ exact_div('arpa', 'avg_customer_churn_rate', 4, 6) }}
            {%- endif %}
        end as ltv,
        case
            when ltv_gap is null then 'actual'
            {%- if estimates %}
            when lacks_rate = 0 and paying_customers_end > 0 and window_history_months between 1 and 2
                and avg_customer_churn_rate > 0 then 'estimated'
            {%- endif %}
            else 'insufficient_data'
        end as ltv_quality,
        case
            when cac_gap is null then actual_cac
            {%- if estimates %}
            when segment like 'plan:%' then blended_cac
            {%- endif %}
        end as cac,
        case
            when cac_gap is null then 'actual'
            {%- if estimates %}
            when segment like 'plan:%' and blended_cac is not null then 'estimated'
            {%- endif %}
            else 'insufficient_data'
        end as cac_quality
    from valued

),

with_ratios as (

    select
        *,
        {{ ratio('ltv', 'cac') }} as clv_cac_ratio,
        {{ exact_div('cac', 'arpa * gross_margin', 4, 10) }} as cac_payback_months
    from estimated

),

final as (

    select
        cast(segment || '|' || cast(month as varchar) as varchar) as segment_month_id,
        cast(segment as varchar) as segment,
        month,
        cast(report_date as date) as report_date,
        is_complete_month,
        cast(paying_customers_start as bigint) as paying_customers_start,
        cast(customers_lost as bigint) as customers_lost,
        cast(paying_customers_end as bigint) as paying_customers_end,
        cast(case when lacks_rate = 0 then mrr_end end as decimal(18, 4)) as mrr,
        cast(case when lacks_rate = 0 then arpa end as decimal(18, 4)) as arpa,
        cast(customer_churn_rate as decimal(18, 6)) as customer_churn_rate,
        cast(window_history_months as bigint) as churn_window_months,
        cast(avg_customer_churn_rate as decimal(18, 6)) as avg_customer_churn_rate,
        cast(
            case when ltv is not null then {{ exact_div('1', 'avg_customer_churn_rate', 4, 6) }} end
            as decimal(18, 4)
        ) as expected_lifetime_months,
        cast(ltv as decimal(18, 4)) as ltv,
        cast(ltv_quality as varchar) as ltv_data_quality,
        cast(case
            when ltv_quality = 'estimated'
                then
                    'churn rate averaged over the ' || cast(window_history_months as varchar)
                    || ' full month(s) available (fewer than 3)'
        end as varchar) as ltv_method,
        cast(ltv_gap as varchar) as ltv_reason,
        cast(window_new_customers as bigint) as window_new_customers,
        cast(case when cac_quality = 'actual' then window_sm_cost end as decimal(18, 4)) as window_sales_marketing_cost,
        cast(cac as decimal(18, 4)) as cac,
        cast(cac_quality as varchar) as cac_data_quality,
        cast(case
            when cac_quality = 'estimated'
                then 'blended CAC of the window (all channels), costs are not attributed to plans'
        end as varchar) as cac_method,
        cast(cac_gap as varchar) as cac_reason,
        cast(gross_margin as decimal(18, 6)) as gross_margin,
        -- quality per figure, not per row: an actual LTV stays actual beside a missing CAC
        cast(
            case when gross_margin is null then 'insufficient_data' else 'actual' end
            as varchar
        ) as gross_margin_data_quality,
        cast(gross_margin_gap as varchar) as gross_margin_reason,
        cast(clv_cac_ratio as decimal(18, 6)) as clv_cac_ratio,
        cast(case
            when clv_cac_ratio is null then 'insufficient_data'
            when ltv_quality = 'estimated' or cac_quality = 'estimated' then 'estimated'
            else 'actual'
        end as varchar) as clv_cac_ratio_data_quality,
        cast(cac_payback_months as decimal(18, 4)) as cac_payback_months,
        cast(case
            when cac_payback_months is null then 'insufficient_data'
            when cac_quality = 'estimated' then 'estimated'
            else 'actual'
        end as varchar) as cac_payback_months_data_quality,
        '{{ reporting_currency() }}' as reporting_currency,
        cast(nullif(concat_ws(
            '; ',
            case when ltv_quality <> 'actual' then 'LTV: ' || ltv_gap end,
            case when cac_quality <> 'actual' then 'CAC: ' || cac_gap end,
            case when gross_margin is null then 'gross margin: ' || gross_margin_gap end
        ), '') as varchar) as reason
    from with_ratios

)

select * from final
