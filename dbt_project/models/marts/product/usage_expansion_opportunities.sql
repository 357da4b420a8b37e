{#- Accounts above 80% of their plan's monthly event limit in a month (month to date for the
    month of the as-of date): expansion opportunities. The plan is the account's current plan
    in the app (accounts.plan_id). -#}
with accounts as (

    select
        account_id,
        owner_user_id,
        plan_id
    from {{ ref('stg_app__accounts') }}

),

plans as (

    select
        plan_id,
        monthly_event_limit
    from {{ ref('stg_app__plans') }}

),

account_months as (

    select
        usage_row.account_id,
        {{ month_start('usage_row.usage_date') }} as month,
        sum(usage_row.event_count) as events,
        max(usage_row.usage_date) as last_usage_date
    from {{ ref('stg_app__usage_daily') }} as usage_row
    where usage_row.usage_date <= {{ as_of_date() }}
    group by usage_row.account_id, {{ month_start('usage_row.usage_date') }}

)

select
    cast(account_months.account_id || '|' || cast(account_months.month as varchar) as varchar) as account_month_id,
    cast(account_months.account_id as varchar) as account_id,
    cast(accounts.owner_user_id as varchar) as customer_id,
    cast(accounts.plan_id as varchar) as plan_id,
    account_months.month,
    cast(account_months.last_usage_date as date) as last_usage_date,
    cast(account_months.events as bigint) as events,
    cast(plans.monthly_event_limit as bigint) as monthly_event_limit,
    {{ ratio('account_months.events', 'plans.monthly_event_limit') }} as limit_share
from account_months
inner join accounts on account_months.account_id = accounts.account_id
inner join plans on accounts.plan_id = plans.plan_id
where
    plans.monthly_event_limit > 0
    and account_months.events * 10 > plans.monthly_event_limit * 8
