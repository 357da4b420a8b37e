{#- Activation per cohort month: trials by the month they started, sign-ups and time to first
    value by the month of sign-up. Conversion is the app's own record: accounts.converted_at. -#}
with accounts as (

    select
        account_id,
        cast(signed_up_at as date) as signed_up_date,
        cast(trial_started_at as date) as trial_start_date,
        cast(trial_ends_at as date) as trial_end_date,
        case
            when cast(converted_at as date) <= {{ as_of_date() }}
                then cast(converted_at as date)
        end as converted_date
    from {{ ref('stg_app__accounts') }}
    where cast(signed_up_at as date) <= {{ as_of_date() }}

),

usage_days as (

    select
        account_id,
        usage_date,
        feature,
        event_count
    from {{ ref('stg_app__usage_daily') }}
    where usage_date <= {{ as_of_date() }}

),

activation_events as (

    select
        account_id,
        event_name,
        cast(occurred_at as date) as event_date
    from {{ ref('stg_app__activation_events') }}
    where cast(occurred_at as date) <= {{ as_of_date() }}

),

product_data as (

    select
        (select count(*) from usage_days) + (select count(*) from activation_events) as product_rows,
        (select min(usage_date) from usage_days) as usage_history_start

),

{# The first key action: the `first_key_action` milestone, or the first day with a
    report export in the usage data when the account signed up after the kept usage history
    starts (for older accounts the first export in the kept days is not their first). -#}
key_actions as (

    select
        account_id,
        event_date as key_action_date
    from activation_events
    where event_name = 'first_key_action'

    union all

    select
        usage_days.account_id,
        usage_days.usage_date
    from usage_days
    inner join accounts on usage_days.account_id = accounts.account_id
    cross join product_data
    where
        usage_days.feature = 'report_export'
        and usage_days.event_count > 0
        and accounts.signed_up_date >= product_data.usage_history_start

),

first_value as (

    select
        account_id,
        min(key_action_date) as first_value_date
    from key_actions
    group by account_id

),

signups as (

    select
        {{ month_start('accounts.signed_up_date') }} as month,
        count(*) as signups,
        count(first_value.first_value_date) as accounts_reached_first_value,
        sum({{ dbt.datediff('accounts.signed_up_date', 'first_value.first_value_date', 'day') }}) as days_to_first_value
    from accounts
    left join first_value
        on accounts.account_id = first_value.account_id
        and accounts.signed_up_date <= first_value.first_value_date
    group by {{ month_start('accounts.signed_up_date') }}

),

trials as (

    select
        {{ month_start('trial_start_date') }} as month,
        count(*) as trials_started,
        count(case
            when converted_date is not null or trial_end_date <= {{ as_of_date() }}
                then 1
        end) as trials_ended,
        count(converted_date) as trials_converted,
        sum(case
            when converted_date is not null
                then {{ dbt.datediff('trial_start_date', 'converted_date', 'day') }}
        end) as days_to_convert
    from accounts
    where trial_start_date <= {{ as_of_date() }}
    group by {{ month_start('trial_start_date') }}

),

months as (

    select cast(spine_at as date) as month
    from {{ date_series(
        '(select min(' ~ month_start('signed_up_date') ~ ') from accounts)',
        month_start(as_of_date()), '1 month') }}
    where spine_at is not null

),

joined as (

    select
        months.month,
        cast(coalesce(signups.signups, 0) as bigint) as signups,
        cast(coalesce(trials.trials_started, 0) as bigint) as trials_started,
        cast(coalesce(trials.trials_ended, 0) as bigint) as trials_ended,
        cast(coalesce(trials.trials_converted, 0) as bigint) as trials_converted,
        trials.days_to_convert,
        cast(coalesce(signups.accounts_reached_first_value, 0) as bigint) as accounts_reached_first_value,
        signups.days_to_first_value,
        product_data.product_rows
    from months
    cross join product_data
    left join signups on months.month = signups.month
    left join trials on months.month = trials.month

)

select
    month,
    signups,
    trials_started,
    trials_ended,
    trials_converted,
    {{ ratio('trials_converted', 'trials_ended') }} as trial_conversion_rate,
    {{ ratio('days_to_convert', 'trials_converted') }} as avg_days_to_convert,
    accounts_reached_first_value,
    {{ ratio('days_to_first_value', 'accounts_reached_first_value') }} as avg_days_to_first_value,
    cast(case
        when product_rows = 0 or trials_ended = 0 then 'insufficient_data'
        else 'actual'
    end as varchar) as data_quality,
    cast(case
        when product_rows = 0 then 'no usage or activation data'
        when trials_started = 0 then 'no trials started'
        when trials_ended = 0 then 'no trial has ended yet'
    end as varchar) as reason
from joined
