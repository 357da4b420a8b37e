{#- Product usage per plan and day, over the days the usage data covers up to the as-of date.
    An account counts under its current plan in the app (accounts.plan_id): the app keeps no
    plan history. -#}
with plans as (

    select
        plan_id,
        is_single_user,
        monthly_event_limit
    from {{ ref('stg_app__plans') }}

),

usage_rows as (

    select
        usage_row.usage_date,
        usage_row.account_id,
        usage_row.user_id,
        usage_row.event_count,
        accounts.plan_id
    from {{ ref('stg_app__usage_daily') }} as usage_row
    inner join {{ ref('stg_app__accounts') }} as accounts on usage_row.account_id = accounts.account_id
    where
        usage_row.usage_date <= {{ as_of_date() }}
        and usage_row.event_count > 0

),

account_days as (

    select
        plan_id,
        account_id,
        usage_date,
        count(distinct user_id) as active_users,
        sum(event_count) as events
    from usage_rows
    group by plan_id, account_id, usage_date

),

{# Month-to-date events of an account on each of its active days, and the first day of a
    month they exceeded 80% of its plan's monthly event limit. -#}
month_to_date as (

    select
        account_days.*,
        {{ month_start('usage_date') }} as month,
        sum(account_days.events) over (
            partition by account_days.account_id, {{ month_start('usage_date') }}
            order by account_days.usage_date rows between unbounded preceding and current row
        ) as events_month_to_date
    from account_days

),

over_limit as (

    select
        month_to_date.plan_id,
        month_to_date.account_id,
        month_to_date.month,
        min(month_to_date.usage_date) as first_day_over
    from month_to_date
    inner join plans on month_to_date.plan_id = plans.plan_id
    where
        plans.monthly_event_limit > 0
        and month_to_date.events_month_to_date * 10 > plans.monthly_event_limit * 8
    group by month_to_date.plan_id, month_to_date.account_id, month_to_date.month

),

days as (

    select cast(spine_at as date) as usage_date
    from {{ date_series('(select min(usage_date) from account_days)', as_of_date(), '1 day') }}
    where spine_at is not null

),

plan_days as (

    select
        plans.plan_id,
        plans.is_single_user,
        days.usage_date
    from plans
    cross join days

),

daily as (

    select
        plan_days.plan_id,
        plan_days.usage_date,
        count(account_days.account_id) as active_accounts,
        coalesce(sum(account_days.active_users), 0) as active_users,
        coalesce(sum(account_days.events), 0) as total_events,
        count(case when plan_days.is_single_user and account_days.active_users > 1 then 1 end)
            as teams_on_single_user_plan
    from plan_days
    left join account_days
        on plan_days.plan_id = account_days.plan_id
        and plan_days.usage_date = account_days.usage_date
    group by plan_days.plan_id, plan_days.usage_date

),

weekly as (

    select
        plan_days.plan_id,
        plan_days.usage_date,
        count(distinct account_days.account_id) as weekly_active_accounts
    from plan_days
    inner join account_days
        on plan_days.plan_id = account_days.plan_id
        and plan_days.usage_date >= account_days.usage_date
        and account_days.usage_date > cast({{ dbt.dateadd('day', -7, 'plan_days.usage_date') }} as date)
    group by plan_days.plan_id, plan_days.usage_date

),

expansion as (

    select
        plan_days.plan_id,
        plan_days.usage_date,
        count(*) as accounts_over_80pct_of_limit
    from plan_days
    inner join over_limit
        on plan_days.plan_id = over_limit.plan_id
        and over_limit.month = {{ month_start('plan_days.usage_date') }}
        and plan_days.usage_date >= over_limit.first_day_over
    group by plan_days.plan_id, plan_days.usage_date

)

select
    cast(daily.plan_id || '|' || cast(daily.usage_date as varchar) as varchar) as plan_day_id,
    cast(daily.plan_id as varchar) as plan_id,
    daily.usage_date,
    cast(daily.active_users as bigint) as active_users,
    cast(daily.active_accounts as bigint) as active_accounts,
    cast(coalesce(weekly.weekly_active_accounts, 0) as bigint) as weekly_active_accounts,
    cast(daily.total_events as bigint) as total_events,
    {{ ratio('daily.total_events', 'daily.active_accounts') }} as avg_events_per_active_account,
    cast(coalesce(expansion.accounts_over_80pct_of_limit, 0) as bigint) as accounts_over_80pct_of_limit,
    cast(daily.teams_on_single_user_plan as bigint) as teams_on_single_user_plan
from daily
left join weekly on daily.plan_id = weekly.plan_id and daily.usage_date = weekly.usage_date
left join expansion on daily.plan_id = expansion.plan_id and daily.usage_date = expansion.usage_date
