{#- ChartMogul's plans, one per plan, currency and billing interval that a subscription
    line sends (`<plan>_<currency>_<interval>`, e.g. `growth_eur_annual`), named so a
    person recognises them: "Growth (EUR, annual)". -#}

with line_items as (

    select * from {{ ref('chartmogul_export_line_items') }}
    where line_type = 'subscription'

),

app_plans as (

    select * from {{ ref('stg_app__plans') }}

),

plan_keys as (

    select distinct
        plan_external_id,
        currency
    from line_items

),

parsed as (

    -- the key is plan_currency_interval; a plan id may itself hold underscores
    select
        plan_external_id,
        currency,
        {{ dbt.split_part('plan_external_id', "'_'", -1) }} as billing_interval
    from plan_keys

),

with_plan as (

    select
        *,
        substr(
            plan_external_id, 1, length(plan_external_id) - length(billing_interval) - length(currency) - 2
        ) as plan_id
    from parsed

),

final as (

    select
        parsed.plan_external_id as external_id,
        coalesce(app_plans.plan_name, parsed.plan_id)
        || ' (' || parsed.currency || ', ' || parsed.billing_interval || ')' as name,  -- noqa: RF04
        case when parsed.billing_interval = 'annual' then 'year' else 'month' end as interval_unit,
        case parsed.billing_interval when 'quarterly' then 3 else 1 end as interval_count,
        parsed.currency,
        parsed.plan_id
    from with_plan as parsed
    left join app_plans on parsed.plan_id = app_plans.plan_id

)

select * from final
