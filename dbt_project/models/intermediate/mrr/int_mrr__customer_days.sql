{#- One row per customer per day on which their MRR changed: MRR before and after (all
    subscriptions, every gateway, reporting currency), the movement it makes and the part
    that comes only from exchange rates.

    For each item that changed, the part of its change that revalues what was already there
    at the new rate is FX (`fx_adjustment`); the rest is the movement, so
    mrr_after = mrr_before + fx_adjustment + mrr_change holds on every row.

    Incremental by customer, like int_mrr__segments (see int_build__rebuild_scope for who
    is recomputed and why). -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

with

item_days as (

    select * from {{ ref('int_mrr__item_days') }}
    {%- if is_incremental() %}
    where {{ customer_in_rebuild_scope('customer_id') }}
    {%- endif %}

),

known_values as (

    -- a day without an exchange rate invents no movement: the item keeps the last value
    -- it had in the reporting currency, and the row is flagged insufficient_data
    select
        *,
        count(mrr_reporting) over (
            partition by item_key order by change_date rows between unbounded preceding and current row
        ) as known_value_group
    from item_days

),

carried as (

    select
        *,
        coalesce(
            max(mrr_reporting) over (partition by item_key, known_value_group),
            cast(0 as decimal(18, 4))
        ) as mrr_reporting_known
    from known_values

),

item_changes as (

    -- each item's value before this change, and the FX part of the change
    select
        *,
        lag(mrr4, 1, 0) over (partition by item_key order by change_date) as previous_mrr4,
        lag(mrr_original) over (partition by item_key order by change_date) as previous_mrr_original,
        lag(mrr_reporting_known, 1, cast(0 as decimal(18, 4)))
            over (partition by item_key order by change_date)
            as previous_mrr_reporting
    from carried

),

item_deltas as (

    select
        customer_id,
        currency,
        change_date,
        is_missing_rate,
        mrr4 - previous_mrr4 as original_delta4,
        mrr_reporting_known - previous_mrr_reporting as reporting_delta,
        case
            when previous_mrr4 <> 0 and mrr4 <> 0
                then
                    {{ convert_amount('previous_mrr_original', 'rate_to_reporting', 4) }}
                    - previous_mrr_reporting
            else cast(0 as decimal(18, 4))
        end as fx_delta,
        source_load_id,
        rate_load_id
    from item_changes

),

customer_day_deltas as (

    select
        customer_id,
        change_date,
        max(currency) as currency,
        count(distinct currency) as currencies,
        sum(original_delta4) as original_delta4,
        sum(reporting_delta) as reporting_delta,
        sum(coalesce(fx_delta, 0)) as fx_adjustment,
        max(case when is_missing_rate then 1 else 0 end) as has_missing_rate,
        max(source_load_id) as source_load_id
    from item_deltas
    group by customer_id, change_date

),

running as (

    select
        *,
        sum(reporting_delta) over customer_history as mrr_after,
        sum(original_delta4) over customer_history as original_after4,
        max(has_missing_rate) over customer_history as lacks_rate
    from customer_day_deltas
    window customer_history as (
        partition by customer_id order by change_date rows between unbounded preceding and current row
    )

),

with_before as (

    select
        *,
        mrr_after - reporting_delta as mrr_before,
        original_after4 - original_delta4 as original_before4,
        reporting_delta - fx_adjustment as mrr_change,
        coalesce(max(case when original_after4 > 0 then 1 else 0 end) over (
            partition by customer_id order by change_date
            rows between unbounded preceding and 1 preceding
        ), 0) = 1 as paid_before
    from running

),

classified as (

    select
        *,
        case
            when original_before4 = 0 and original_after4 > 0
                then case when paid_before then 'reactivation' else 'new' end
            when original_before4 > 0 and original_after4 = 0 then 'churn'
            when mrr_change > 0 then 'expansion'
            when mrr_change < 0 then 'contraction'
        end as movement_type
    from with_before
    -- a day whose changes cancel out (a plan swapped for one at the same price) is no
    -- change; a day that lacked a rate stays visible with its flag
    where reporting_delta <> 0 or original_delta4 <> 0 or has_missing_rate = 1

),

final as (

    select
        customer_id,
        change_date,
        case when currencies = 1 then currency end as currency,
        {{ mrr4_to_decimal('original_after4') }} as mrr_original_after,
        cast(mrr_before as decimal(18, 4)) as mrr_before,
        cast(mrr_after as decimal(18, 4)) as mrr_after,
        cast(case when movement_type is null then 0 else mrr_change end as decimal(18, 4)) as mrr_change,
        -- on a day without a movement the whole change is FX
        cast(case when movement_type is null then reporting_delta else fx_adjustment end as decimal(18, 4))
            as fx_adjustment,
        movement_type,
        original_before4 > 0 as was_paying,
        original_after4 > 0 as is_paying,
        case when lacks_rate = 1 then 'insufficient_data' else 'actual' end as data_quality,
        (
            select build_state.settings_fingerprint from {{ ref('int_build__state') }} as build_state
        ) as settings_fingerprint,
        (select build_state.as_of_date from {{ ref('int_build__state') }} as build_state) as built_as_of,
        (select build_state.watermark from {{ ref('int_build__state') }} as build_state) as source_watermark
    from classified

)

select * from final
