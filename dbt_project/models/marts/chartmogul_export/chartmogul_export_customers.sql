{#- ChartMogul's customers, one per unified customer (`external_id` = dim_customers'
    customer_id, the id the reconciliation matches on), leads and trials included, with
    the contact details of the app account's owner (else Stripe's) and the custom
    attributes an analyst segments by in ChartMogul. -#}

with customers as (

    select * from {{ ref('dim_customers') }}

),

accounts as (

    select * from {{ ref('stg_app__accounts') }}

),

users as (

    select * from {{ ref('stg_app__users') }}

),

stripe_customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

health as (

    select * from {{ ref('customer_health') }}

),

final as (

    select
        customers.customer_id as external_id,
        coalesce(accounts.account_name, owners.full_name, stripe_customers.customer_name) as name,  -- noqa: RF04
        coalesce(owners.email, stripe_customers.email) as email,
        coalesce(accounts.account_name, stripe_customers.customer_name) as company,
        upper(customers.country) as country,
        cast(null as varchar) as city,
        customers.signed_up_at as lead_created_at,
        customers.trial_started_at as free_trial_started_at,
        upper(customers.billing_currency) as billing_currency,
        customers.acquisition_channel,
        customers.utm_source,
        customers.utm_medium,
        customers.utm_campaign,
        customers.billing_gateway,
        customers.current_plan_id as plan,
        cast(health.health_score as integer) as health_score,
        health.risk_band as health_band,
        cast(accounts.seats as integer) as seats
    from customers
    left join accounts on customers.app_account_id = accounts.account_id
    left join users as owners on accounts.owner_user_id = owners.user_id
    left join stripe_customers on customers.stripe_customer_id = stripe_customers.stripe_customer_id
    left join health on customers.customer_id = health.customer_id

)

select * from final
