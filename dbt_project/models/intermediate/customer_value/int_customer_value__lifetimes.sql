{#- What each customer has been worth so far: months with a paid period and the revenue
    realised to the as-of date (net revenue: invoiced and gateway revenue minus credit notes
    and refunds, in the reporting currency). -#}

{%- set as_of = as_of_date() %}

with customer_months as (

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

    select
        customer_id,
        sum(net_revenue_reporting) as realised_revenue,
        sum(case when data_quality = 'actual' then 0 else 1 end) as rows_without_rate
    from revenue
    group by customer_id

),

final as (

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

)

select * from final
