{#- The segmentation grid on the as-of date: paying customers by value (their MRR at or above
    the company's ARPA, or below it) and health (customer_health's risk band), with what each
    cell is worth (customers, MRR, ARPU, LTV), its churn risk and the action for it. -#}

with health as (

    select * from {{ ref('customer_health') }}

),

customer_values as (

    select * from {{ ref('fct_customer_value') }}

),

company as (

    select {{ divide_money('sum(current_mrr)', 'count(*)') }} as arpa
    from health

),

placed as (

    select
        health.customer_id,
        health.current_mrr,
        health.risk_band,
        customer_values.ltv,
        case when health.current_mrr >= company.arpa then 'high_value' else 'low_value' end as value_tier
    from health
    cross join company
    left join customer_values on health.customer_id = customer_values.customer_id

),

grid as (

    select
        value_tier,
        risk_band,
        count(*) as customers,
        sum(current_mrr) as mrr,
        count(ltv) as customers_with_ltv,
        sum(ltv) as ltv_total
    from placed
    group by value_tier, risk_band

),

final as (

    select
        cast(value_tier || ':' || risk_band as varchar) as segment,
        cast(value_tier as varchar) as value_tier,
        cast(risk_band as varchar) as risk_band,
        cast(customers as bigint) as customers,
        cast(mrr as decimal(18, 4)) as mrr,
        cast({{ divide_money('mrr', 'customers') }} as decimal(18, 4)) as arpu,
        cast(case
            when customers_with_ltv = customers
                then {{ divide_money('ltv_total', 'customers') }}
        end as decimal(18, 4)) as ltv,
        cast(case risk_band
            when 'healthy' then 'low' when 'medium' then 'medium'
            when 'high' then 'high' else 'unknown'
        end as varchar) as churn_risk,
        cast(case (value_tier || ':' || risk_band)
            when 'high_value:healthy' then 'protect and grow: annual plan, referral or case study'
            when 'low_value:healthy' then 'upsell: show the next plan and its limits'
            when 'high_value:medium' then 'account review with customer success this month'
            when 'low_value:medium' then 'automated re-engagement: tips for unused features'
            when 'high_value:high' then 'call this week: executive outreach'
            when 'low_value:high' then 'save offer or guided re-onboarding'
            else 'complete the data: connect usage and support for these customers'
        end as varchar) as action,
        '{{ reporting_currency() }}' as reporting_currency,
        cast(case
            when risk_band = 'unknown' or customers_with_ltv < customers
                then 'insufficient_data'
            else 'actual'
        end as varchar) as data_quality,
        cast(nullif(concat_ws(
            '; ',
            case when risk_band = 'unknown' then 'health score incomplete (see customer_health.reason)' end,
            case
                when customers_with_ltv < customers
                    then
                        cast(customers - customers_with_ltv as varchar)
                        || ' customer(s) without an LTV (see fct_customer_value.reason)'
            end
        ), '') as varchar) as reason
    from grid

)

select * from final
