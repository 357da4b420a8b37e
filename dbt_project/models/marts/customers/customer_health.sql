{#- Customer health on the as-of date (var `as_of`): one row per customer paying that day
    (dim_customers status active or past_due). Four integer components, each from loaded
    facts in a window ending on the as-of date:

    usage_score (0-30)    = floor(30 * active_days_last_28 / days_observed), where an active
                            day has an event in any of the customer's app accounts and
                            days_observed = least(28, days since sign-up + 1), so an account
                            younger than the window is not marked down for days it did not exist.
    adoption_score (0-25) = 5 per distinct feature used in the last 28 days (5 features), max 25.
    support_score (0-20)  = greatest(0, 20 - 4 per high/urgent ticket open on the as-of date
                            - 1 per ticket opened in the last 90 days (at most 6)
                            - 6 if the average satisfaction of tickets solved in the last 90
                            days is below 3, 3 if below 4); no ticket is a perfect 20.
    payment_score (0-25)  = greatest(0, 25 - 15 if past due (a Stripe subscription in dunning)
                            - 5 per failed payment in the last 90 days (Stripe charges and
                            gateway transactions, at most 10)).
    health_score = the sum (0-100); risk_band: below 30 high, 30-60 medium, above 60 healthy.

    A component whose input is not loaded is null, never zero (MRR_RULES.md "No wrong data"):
    usage and adoption need the customer's app account and usage rows in the 28-day window
    (an account without events while the table has them is a real zero); support needs the
    tickets table to hold any row. Then health_score is null, risk_band `unknown` and the row
    `insufficient_data` with the reason. -#}

{%- set as_of = as_of_date() %}
{%- set usage_window_start = 'cast(' ~ dbt.dateadd('day', -27, as_of) ~ ' as date)' %}
{%- set window_90_start = 'cast(' ~ dbt.dateadd('day', -89, as_of) ~ ' as date)' %}

with customers as (

    select * from {{ ref('dim_customers') }}
    where status in ('active', 'past_due')

),

id_map as (

    select * from {{ ref('int_customers__id_map') }}

),

plans as (

    select * from {{ ref('stg_app__plans') }}

),

usage_rows as (

    select * from {{ ref('stg_app__usage_daily') }}
    where usage_date between {{ usage_window_start }} and {{ as_of }}

),

tickets as (

    select * from {{ ref('stg_app__support_tickets') }}
    where cast(opened_at as date) <= {{ as_of }}

),

nps_responses as (

    select * from {{ ref('stg_app__nps_responses') }}
    where cast(responded_at as date) <= {{ as_of }}

),

charges as (

    select * from {{ ref('stg_stripe__charges') }}

),

transactions as (

    select * from {{ ref('stg_app__transactions') }}

),

expansion_opportunities as (

    select * from {{ ref('usage_expansion_opportunities') }}

),

-- whether each input is loaded at all: missing data is not a zero
loaded as (

    select
        exists(select 1 from usage_rows) as has_usage,
        exists(select 1 from {{ ref('stg_app__support_tickets') }}) as has_tickets

),

customer_accounts as (

    select
        customer_id,
        source_id as account_id
    from id_map
    where id_type = 'app_account'

),

customer_stripe_ids as (

    select
        customer_id,
        source_id as stripe_customer_id
    from id_map
    where id_type = 'stripe_customer'

),

has_account as (

    select distinct customer_id from customer_accounts

),

usage_by_customer as (

    select
        customer_accounts.customer_id,
        count(distinct usage_rows.usage_date) as active_days,
        count(distinct usage_rows.feature) as features_used,
        sum(usage_rows.event_count) as events
    from usage_rows
    inner join customer_accounts on usage_rows.account_id = customer_accounts.account_id
    where usage_rows.event_count > 0
    group by customer_accounts.customer_id

),

near_limit as (

    -- an account above 80% of its plan's event limit this month or last
    select distinct customer_accounts.customer_id
    from expansion_opportunities
    inner join customer_accounts on expansion_opportunities.account_id = customer_accounts.account_id
    where
        expansion_opportunities.month >= {{ month_start(dbt.dateadd('day', -1, month_start(as_of))) }}
        and expansion_opportunities.month <= {{ as_of }}

),

support_by_customer as (

    select
        customer_accounts.customer_id,
        sum(case when cast(tickets.opened_at as date) >= {{ window_90_start }} then 1 else 0 end) as tickets_last_90,
        -- open on the as-of date: not solved by its end
        sum(case
            when
                tickets.priority in ('high', 'urgent')
                and (tickets.resolved_at is null or cast(tickets.resolved_at as date) > {{ as_of }})
                then 1
            else 0
        end) as open_urgent_tickets,
        sum(case
            when
                cast(tickets.resolved_at as date) between {{ window_90_start }} and {{ as_of }}
                and tickets.satisfaction_score is not null
                then 1
            else 0
        end) as ratings,
        sum(case
            when cast(tickets.resolved_at as date) between {{ window_90_start }} and {{ as_of }}
                then tickets.satisfaction_score
            else 0
        end) as rating_sum
    from tickets
    inner join customer_accounts on tickets.account_id = customer_accounts.account_id
    group by customer_accounts.customer_id

),

latest_nps as (

    select
        customer_id,
        score,
        responded_at
    from (
        select
            customer_accounts.customer_id,
            nps_responses.score,
            nps_responses.responded_at,
            row_number() over (
                partition by customer_accounts.customer_id
                order by nps_responses.responded_at desc, nps_responses.response_id desc
            ) as recency
        from nps_responses
        inner join customer_accounts on nps_responses.account_id = customer_accounts.account_id
    ) as ranked
    where recency = 1

),

failed_payments as (

    select
        customer_stripe_ids.customer_id,
        charges.charge_id as payment_id
    from charges
    inner join customer_stripe_ids on charges.stripe_customer_id = customer_stripe_ids.stripe_customer_id
    where
        charges.status = 'failed'
        and charges.created_date between {{ window_90_start }} and {{ as_of }}
    union all
    select
        customer_accounts.customer_id,
        transactions.transaction_id as payment_id
    from transactions
    inner join customer_accounts on transactions.account_id = customer_accounts.account_id
    where
        transactions.status = 'failed'
        and cast(transactions.created_at as date) between {{ window_90_start }} and {{ as_of }}

),

failed_by_customer as (

    select
        customer_id,
        count(*) as failed_payments
    from failed_payments
    group by customer_id

),

inputs as (

    select
        customers.customer_id,
        customers.current_plan_id as plan_id,
        plans.plan_name,
        customers.current_mrr,
        customers.status = 'past_due' as is_past_due,
        coalesce(failed_by_customer.failed_payments, 0) as failed_payments_last_90,
        has_account.customer_id is not null as has_app_account,
        loaded.has_usage,
        loaded.has_tickets,
        coalesce(
            greatest(
                1,
                least(
                    28,
                    {{ dbt.datediff('customers.signed_up_at', as_of, 'day') }}
                    + 1
                )
            ),
            28
        ) as days_observed,
        coalesce(usage_by_customer.active_days, 0) as active_days,
        coalesce(usage_by_customer.features_used, 0) as features_used,
        coalesce(usage_by_customer.events, 0) as events,
        near_limit.customer_id is not null as is_near_limit,
        coalesce(support_by_customer.tickets_last_90, 0) as tickets_last_90,
        coalesce(support_by_customer.open_urgent_tickets, 0) as open_urgent_tickets,
        coalesce(support_by_customer.ratings, 0) as ratings,
        coalesce(support_by_customer.rating_sum, 0) as rating_sum,
        latest_nps.score as latest_nps_score,
        cast(latest_nps.responded_at as date) as latest_nps_date
    from customers
    cross join loaded
    left join plans on customers.current_plan_id = plans.plan_id
    left join has_account on customers.customer_id = has_account.customer_id
    left join usage_by_customer on customers.customer_id = usage_by_customer.customer_id
    left join near_limit on customers.customer_id = near_limit.customer_id
    left join support_by_customer on customers.customer_id = support_by_customer.customer_id
    left join latest_nps on customers.customer_id = latest_nps.customer_id
    left join failed_by_customer on customers.customer_id = failed_by_customer.customer_id

),

measured as (

    -- inputs that are not loaded become null here, so no score is built on them
    select
        customer_id,
        plan_id,
        plan_name,
        current_mrr,
        is_past_due,
        failed_payments_last_90,
        has_app_account,
        has_usage,
        has_tickets,
        days_observed,
        case when has_app_account and has_usage then active_days end as active_days_last_28,
        case when has_app_account and has_usage then features_used end as features_used_last_28,
        case when has_app_account and has_usage then events end as events_last_28,
        case when has_app_account and has_usage then is_near_limit end as is_near_plan_limit,
        case when has_tickets then tickets_last_90 end as tickets_last_90,
        case when has_tickets then open_urgent_tickets end as open_urgent_tickets,
        case when has_tickets then ratings end as ratings,
        case when has_tickets then rating_sum end as rating_sum,
        latest_nps_score,
        latest_nps_date
    from inputs

),

scored as (

    -- least/greatest skip nulls on PostgreSQL: a missing input is kept null explicitly
    select
        measured.*,
        case
            when measured.active_days_last_28 is not null then
                least(30, {{ int_div('30 * active_days_last_28', 'days_observed') }})
        end as usage_score,
        case
            when measured.features_used_last_28 is not null then
                least(25, 5 * measured.features_used_last_28)
        end as adoption_score,
        case
            when measured.tickets_last_90 is not null then greatest(
                0, 20
                - 4 * measured.open_urgent_tickets
                - least(6, measured.tickets_last_90)
                -- average below 3 (below 4), compared in whole numbers: sum < 3 x count
                - case
                    when measured.ratings = 0 then 0
                    when measured.rating_sum < 3 * measured.ratings then 6
                    when measured.rating_sum < 4 * measured.ratings then 3
                    else 0
                end
            )
        end as support_score,
        greatest(
            0, 25
            - case when measured.is_past_due then 15 else 0 end
            - least(10, 5 * measured.failed_payments_last_90)
        ) as payment_score
    from measured

),

totals as (

    select
        scored.*,
        scored.usage_score + scored.adoption_score + scored.support_score + scored.payment_score as health_score,
        -- each component as a share of its maximum, in 300ths (30 x 10, 25 x 12, 20 x 15)
        scored.usage_score * 10 as usage_share,
        scored.adoption_score * 12 as adoption_share,
        scored.support_score * 15 as support_share,
        scored.payment_score * 12 as payment_share
    from scored

),

banded as (

    select
        totals.*,
        case
            when totals.health_score is null then 'unknown'
            when totals.health_score < 30 then 'high'
            when totals.health_score <= 60 then 'medium'
            else 'healthy'
        end as risk_band,
        -- the component furthest below its maximum; ties go to payment, usage, adoption, support
        case
            when totals.health_score is null or totals.health_score = 100 then null
            when
                totals.payment_share <= least(totals.usage_share, totals.adoption_share, totals.support_share)
                then 'payment'
            when totals.usage_share <= least(totals.adoption_share, totals.support_share) then 'usage'
            when totals.adoption_share <= totals.support_share then 'adoption'
            else 'support'
        end as weakest_component
    from totals

),

weakest as (

    select
        banded.*,
        -- below half of its maximum (in 300ths: below 150)
        coalesce(case banded.weakest_component
            when 'usage' then banded.usage_share
            when 'adoption' then banded.adoption_share
            when 'support' then banded.support_share
            when 'payment' then banded.payment_share
        end < 150, false) as weakest_below_half
    from banded

),

actions as (

    select
        weakest.*,
        case
            when weakest.health_score is null and weakest.payment_score * 2 < 25 then 'fix payment method'
            when weakest.health_score is null then 'review manually: health score incomplete'
            when weakest.risk_band = 'high' then 'call: executive outreach'
            -- a healthy customer is acted on only for a component below half its maximum
            when
                weakest.risk_band = 'healthy' and not weakest.weakest_below_half and weakest.is_near_plan_limit
                then 'offer upgrade'
            when weakest.risk_band = 'healthy' and not weakest.weakest_below_half then 'none: keep engaged'
            when weakest.weakest_component = 'payment' then 'fix payment method'
            when weakest.weakest_component = 'usage' then 're-onboard: product training'
            when weakest.weakest_component = 'adoption' then 'enable: show unused features'
            else 'support follow-up: resolve open tickets'
        end as suggested_action,
        nullif(concat_ws(
            '; ',
            case
                when not weakest.has_app_account
                    then 'no usage data for the customer: no app account (Stripe only)'
            end,
            case
                when weakest.has_app_account and not weakest.has_usage
                    then 'no usage data loaded for the 28 days ending ' || cast({{ as_of }} as varchar)
            end,
            case
                when not weakest.has_tickets
                    then 'no support tickets loaded (raw_app.support_tickets is missing or empty)'
            end
        ), '') as reason
    from weakest

),

final as (

    select
        cast(customer_id as varchar) as customer_id,
        {{ as_of }} as as_of_date,
        cast(plan_id as varchar) as plan_id,
        cast(plan_name as varchar) as plan_name,
        cast(current_mrr as decimal(18, 4)) as current_mrr,
        '{{ reporting_currency() }}' as reporting_currency,
        cast(usage_score as integer) as usage_score,
        cast(adoption_score as integer) as adoption_score,
        cast(support_score as integer) as support_score,
        cast(payment_score as integer) as payment_score,
        cast(health_score as integer) as health_score,
        cast(risk_band as varchar) as risk_band,
        cast(weakest_component as varchar) as weakest_component,
        cast(suggested_action as varchar) as suggested_action,
        cast(days_observed as integer) as days_observed,
        cast(active_days_last_28 as bigint) as active_days_last_28,
        cast(features_used_last_28 as bigint) as features_used_last_28,
        cast(events_last_28 as bigint) as events_last_28,
        is_near_plan_limit,
        cast(tickets_last_90 as bigint) as tickets_last_90,
        cast(open_urgent_tickets as bigint) as open_urgent_tickets,
        cast(ratings as bigint) as rated_tickets_last_90,
        {{ ratio('rating_sum', 'ratings') }} as avg_satisfaction,
        cast(failed_payments_last_90 as bigint) as failed_payments_last_90,
        is_past_due,
        cast(latest_nps_score as bigint) as latest_nps_score,
        cast(latest_nps_date as date) as latest_nps_date,
        case when reason is null then 'actual' else 'insufficient_data' end as data_quality,
        cast(reason as varchar) as reason
    from actions

)

select * from final
