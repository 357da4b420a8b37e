{#- One row per unified customer: the app account owner (with the Stripe customer that
    bills them, if any), or a Stripe customer with no app user, keyed by its Stripe id.
    Status on the as-of date: lead (never paid), active, past_due (paying, a Stripe
    subscription in dunning) or churned (paid before, pays nothing now). -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with id_map as (

    select * from {{ ref('int_customers__id_map') }}
    {%- if is_incremental() %}
    where {{ mart_customer_in_refresh('customer_id') }}
    {%- endif %}

),

accounts as (

    select * from {{ ref('stg_app__accounts') }}

),

stripe_customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

subscriptions as (

    select * from {{ ref('stg_stripe__subscriptions') }}

),

customer_days as (

    select * from {{ ref('int_mrr__customer_days') }}
    where change_date <= {{ as_of_date() }}
    {%- if is_incremental() %}
        and {{ mart_customer_in_refresh('customer_id') }}
    {%- endif %}

),

segments as (

    select * from {{ ref('int_mrr__segments') }}
    {%- if is_incremental() %}
    where {{ mart_customer_in_refresh('customer_id') }}
    {%- endif %}

),

prices as (

    select * from {{ ref('stg_stripe__prices') }}

),

customer_ids as (

    select
        customer_id,
        max(case when id_type = 'app_account' then source_id end) as app_account_id,
        min(case when id_type = 'stripe_customer' then source_id end) as stripe_customer_id,
        count(case when id_type = 'stripe_customer' then 1 end) as stripe_customers
    from id_map
    group by customer_id

),

mrr_history as (

    select
        customer_id,
        min(case when is_paying then change_date end) as first_paid_date,
        max(change_date) as last_change_date
    from customer_days
    group by customer_id

),

current_mrr as (

    select
        customer_id,
        mrr_after as current_mrr,
        mrr_original_after as current_mrr_original,
        data_quality
    from (
        select
            *,
            row_number() over (partition by customer_id order by change_date desc) as rank_from_latest
        from customer_days
    ) as ranked
    where rank_from_latest = 1

),

in_dunning as (

    select distinct id_map.customer_id
    from subscriptions
    inner join id_map
        on id_map.id_type = 'stripe_customer' and subscriptions.stripe_customer_id = id_map.source_id
    where subscriptions.status in ('past_due', 'unpaid')

),

current_plan as (

    -- the plan of the customer's most valuable segment running on the as-of date
    select
        customer_id,
        plan_id
    from (
        select
            segments.customer_id,
            coalesce(prices.plan_id, transactions.plan_id) as plan_id,
            row_number() over (
                partition by segments.customer_id
                order by segments.mrr4 desc, segments.segment_start_epoch desc
            ) as plan_rank
        from segments
        left join {{ ref('stg_stripe__invoice_lines') }} as lines
            on segments.gateway = 'stripe' and segments.source_row_id = lines.invoice_line_id
        left join prices on lines.price_id = prices.price_id
        left join {{ ref('stg_app__transactions') }} as transactions
            on segments.gateway <> 'stripe' and segments.source_row_id = transactions.transaction_id
        where
            segments.segment_start_epoch
            < {{ dbt.datediff("cast('1970-01-01' as date)", as_of_date(), 'day') }}
            * cast(86400 as bigint)
            + 86400
            and (
                segments.segment_end_epoch is null
                or segments.segment_end_epoch
                >= {{ dbt.datediff("cast('1970-01-01' as date)", as_of_date(), 'day') }}
                * cast(86400 as bigint)
                + 86400
            )
    ) as ranked
    where plan_rank = 1

),

final as (

    select
        customer_ids.customer_id,
        customer_ids.app_account_id,
        case when customer_ids.app_account_id is not null then customer_ids.customer_id end as app_user_id,
        customer_ids.stripe_customer_id,
        coalesce(accounts.billing_gateway, 'stripe') as billing_gateway,
        accounts.acquisition_channel,
        accounts.utm_source,
        accounts.utm_medium,
        accounts.utm_campaign,
        coalesce(accounts.country, upper(stripe_customers.country)) as country,
        coalesce(accounts.currency, stripe_customers.currency) as billing_currency,
        coalesce(accounts.signed_up_at, stripe_customers.created_at) as signed_up_at,
        accounts.trial_started_at,
        mrr_history.first_paid_date,
        {{ month_start('mrr_history.first_paid_date') }} as cohort_month,
        coalesce(current_plan.plan_id, accounts.plan_id) as current_plan_id,
        cast(coalesce(current_mrr.current_mrr, 0) as decimal(18, 4)) as current_mrr,
        cast(coalesce(current_mrr.current_mrr_original, 0) as decimal(18, 4)) as current_mrr_original,
        case
            when coalesce(current_mrr.current_mrr, 0) > 0 and in_dunning.customer_id is not null then 'past_due'
            when coalesce(current_mrr.current_mrr, 0) > 0 then 'active'
            when mrr_history.first_paid_date is not null then 'churned'
            else 'lead'
        end as status,
        '{{ reporting_currency() }}' as reporting_currency,
        coalesce(current_mrr.data_quality, 'actual') as data_quality
    from customer_ids
    left join accounts on customer_ids.app_account_id = accounts.account_id
    left join stripe_customers on customer_ids.stripe_customer_id = stripe_customers.stripe_customer_id
    left join mrr_history on customer_ids.customer_id = mrr_history.customer_id
    left join current_mrr on customer_ids.customer_id = current_mrr.customer_id
    left join in_dunning on customer_ids.customer_id = in_dunning.customer_id
    left join current_plan on customer_ids.customer_id = current_plan.customer_id

)

select * from final
