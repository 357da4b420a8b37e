{#- Who is one customer. The app's account owner is the customer of record; the Stripe
    customer that bills the account belongs to the same person (Stripe `metadata` or the
    account's `stripe_customer_id`). A Stripe customer with no app user is a customer of its
    own, keyed by the Stripe customer id. One row per source id. -#}

with accounts as (

    select * from {{ ref('stg_app__accounts') }}

),

stripe_customers as (

    select * from {{ ref('stg_stripe__customers') }}

),

account_customers as (

    select
        account_id,
        owner_user_id as customer_id,
        stripe_customer_id
    from accounts
    where owner_user_id is not null

),

stripe_links as (

    -- Stripe's metadata first (it names the user); the account's link second. One
    -- person may own several accounts billed to one Stripe customer: any of them names
    -- the same owner, so the first is taken.
    select
        stripe_customers.stripe_customer_id,
        coalesce(
            stripe_customers.app_user_id,
            by_account_metadata.customer_id,
            by_account_link.customer_id,
            stripe_customers.stripe_customer_id
        ) as customer_id,
        row_number() over (
            partition by stripe_customers.stripe_customer_id
            order by by_account_link.account_id
        ) as link_rank
    from stripe_customers
    left join account_customers as by_account_metadata
        on stripe_customers.app_account_id = by_account_metadata.account_id
    left join account_customers as by_account_link
        on stripe_customers.stripe_customer_id = by_account_link.stripe_customer_id

),

stripe_to_customer as (

    select
        stripe_customer_id,
        customer_id
    from stripe_links
    where link_rank = 1

),

id_map as (

    select
        'app_account' as id_type,
        account_id as source_id,
        customer_id
    from account_customers
    union all
    select
        'stripe_customer' as id_type,
        stripe_customer_id as source_id,
        customer_id
    from stripe_to_customer

)

select * from id_map
