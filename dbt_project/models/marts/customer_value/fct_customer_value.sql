{#- One row per customer who has paid: what they have realised so far and, while they pay,
    what they are expected to be worth (MRR_RULES.md): their MRR / the churn rate of their plan
    (averaged over the six full months up to the as-of date), next to the CAC of the channel
    and month that brought them, CLV:CAC and CAC payback months (CAC / (MRR x gross margin)). -#}

{%- set as_of = as_of_date() %}

with customers as (

    select * from {{ ref('dim_customers') }}
    where first_paid_date is not null

),

customer_months as (

    select * from {{ ref('fct_mrr_monthly') }}

),

revenue as (

    select * from {{ ref('fct_revenue') }}
    where revenue_date <= {{ as_of }}

),

active_months as (

    -- a month counts when the customer paid on any day of it
    select
        customer_id,
        sum(case
            when is_paying_start or is_paying_end or is_new or is_reactivated or has_churned
                then 1
            else 0
        end) as active_months
    from customer_months
    group by customer_id

),

realised_revenue as (

    -- net revenue (invoiced and gateway revenue less credit notes and refunds) realised to
    -- the as-of date, in the reporting currency
    select
        customer_id,
        sum(net_revenue_reporting) as realised_revenue,
        sum(case when data_quality = 'actual' then 0 else 1 end) as rows_without_rate
    from revenue
    group by customer_id

),

lifetimes as (

    select
        coalesce(active_months.customer_id, realised_revenue.customer_id) as customer_id,
        cast(coalesce(active_months.active_months, 0) as bigint) as active_months,
        -- a customer without a revenue row has realised nothing: 0 is a fact
        cast(case
            when coalesce(realised_revenue.rows_without_rate, 0) = 0
                then coalesce(realised_revenue.realised_revenue, 0)
        end as decimal(18, 4)) as realised_revenue,
        coalesce(realised_revenue.rows_without_rate, 0) > 0 as revenue_lacks_rate
    from active_months
    full outer join realised_revenue on active_months.customer_id = realised_revenue.customer_id

),

plan_values as (

    select * from {{ ref('clv_segments_monthly') }}
    where month = {{ month_start(as_of) }} and segment like 'plan:%'

),

acquisition_costs as (

    -- the CAC of the customer's channel in the month they became a paying customer
    select * from {{ ref('unit_economics_monthly') }}
    where segment like 'channel:%'

),

joined as (

    select
        customers.customer_id,
        customers.current_plan_id,
        customers.acquisition_channel,
        customers.cohort_month,
        customers.status,
        customers.current_mrr,
        customers.data_quality as mrr_quality,
        lifetimes.active_months,
        lifetimes.realised_revenue,
        lifetimes.revenue_lacks_rate,
        plan_values.avg_customer_churn_rate,
        plan_values.churn_window_months,
        plan_values.ltv_reason,
        plan_values.ltv_data_quality as plan_ltv_quality,
        plan_values.ltv_method as plan_ltv_method,
        plan_values.gross_margin,
        plan_values.gross_margin_reason,
        acquisition_costs.cac,
        acquisition_costs.reason as cac_reason,
        customers.current_mrr > 0 as is_paying
    from customers
    left join lifetimes on customers.customer_id = lifetimes.customer_id
    left join plan_values on plan_values.segment = 'plan:' || coalesce(customers.current_plan_id, 'unknown')
    left join acquisition_costs
        on acquisition_costs.segment = 'channel:' || coalesce(customers.acquisition_channel, 'unknown')
        and customers.cohort_month = acquisition_costs.month

),

valued as (

    select
        *,
        case
            when not is_paying then 'not paying on the as-of date: the realised revenue is the whole value'
            when mrr_quality <> 'actual' then 'the customer''s MRR lacks an exchange rate'
            when
                plan_ltv_quality = 'insufficient_data'
                then 'the plan''s churn rate: ' || coalesce(ltv_reason, 'unknown')
        end as ltv_gap,
        case
            when is_paying and mrr_quality = 'actual' and plan_ltv_quality <> 'insufficient_data'
                then {{ exact_div('current_mrr', 'avg_customer_churn_rate', 4, 6) }}
        end as ltv
    from joined

),

final as (

    select
        cast(customer_id as varchar) as customer_id,
        cast(current_plan_id as varchar) as plan,
        cast(acquisition_channel as varchar) as acquisition_channel,
        cohort_month,
        cast(status as varchar) as status,
        cast(case when mrr_quality = 'actual' then current_mrr end as decimal(18, 4)) as current_mrr,
        cast(active_months as bigint) as active_months,
        cast(case when not revenue_lacks_rate then realised_revenue end as decimal(18, 4)) as realised_revenue,
        cast(avg_customer_churn_rate as decimal(18, 6)) as plan_churn_rate,
        cast(
            case when ltv is not null then {{ exact_div('1', 'avg_customer_churn_rate', 4, 6) }} end
            as decimal(18, 4)
        ) as expected_lifetime_months,
        cast(gross_margin as decimal(18, 6)) as gross_margin,
        cast(ltv as decimal(18, 4)) as ltv,
        cast(cac as decimal(18, 4)) as cac,
        cast({{ ratio('ltv', 'cac') }} as decimal(18, 6)) as clv_cac_ratio,
        cast(
            case when is_paying then {{ exact_div('cac', 'current_mrr * gross_margin', 4, 10) }} end
            as decimal(18, 4)
        ) as cac_payback_months,
        '{{ reporting_currency() }}' as reporting_currency,
        cast(case
            when ltv_gap is not null and is_paying then 'insufficient_data'
            when cac is null or gross_margin is null or revenue_lacks_rate then 'insufficient_data'
            when plan_ltv_quality = 'estimated' then 'estimated'
            else 'actual'
        end as varchar) as data_quality,
        cast(nullif(concat_ws(
            '; ',
            case when ltv_gap is not null and is_paying then 'LTV: ' || ltv_gap end,
            case
                when cac is null then 'CAC: ' || coalesce(cac_reason, 'no acquisition cost for the channel and month')
            end,
            case when gross_margin is null then 'gross margin: ' || coalesce(gross_margin_reason, 'unknown') end,
            case when revenue_lacks_rate then 'realised revenue: some revenue has no exchange rate for its day' end
        ), '') as varchar) as reason,
        cast(plan_ltv_method as varchar) as method
    from valued

)

select * from final
