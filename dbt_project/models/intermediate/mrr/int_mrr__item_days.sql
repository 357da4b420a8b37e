{#- Each subscription item's MRR at the end of every day on which it changed, in its own
    currency and in the reporting currency at the rate of the day its segment started.

    Segments of one item are taken in start order: a segment holds from its start until
    the next one starts (a proration overrides the rest of the period) or it ends; a gap
    after an end means the item is worth 0 until something starts again. Incremental by
    customer, like int_mrr__segments. -#}

-- depends_on: {{ ref('int_build__state') }}
-- depends_on: {{ ref('int_build__rebuild_scope') }}

{{ config(
    materialized='incremental',
    unique_key='customer_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}

{%- set reporting = reporting_currency() | lower %}

with segments as (

    select * from {{ ref('int_mrr__segments') }}
    {%- if is_incremental() %}
    where {{ customer_in_rebuild_scope('customer_id') }}
    {%- endif %}

),

rates as (

    select * from {{ ref('int_fx__rates_to_reporting') }}

),

fx_loads as (

    select
        rate_date,
        currency,
        dlt_load_id
    from {{ ref('stg_fx__rates') }}

),

ordered as (

    select
        *,
        lead(segment_start_epoch) over (
            partition by item_key
            order by segment_start_epoch, is_proration, source_row_id
        ) as next_start_epoch
    from segments

),

events as (

    -- the item takes the segment's value when it starts ...
    select
        customer_id,
        item_key,
        currency,
        segment_start_epoch as event_epoch,
        mrr4,
        source_load_id,
        as_of_sensitive_until
    from ordered
    union all
    -- ... and drops to 0 when it ends before anything else starts
    select
        customer_id,
        item_key,
        currency,
        segment_end_epoch as event_epoch,
        0 as mrr4,
        source_load_id,
        as_of_sensitive_until
    from ordered
    where
        segment_end_epoch is not null
        and (next_start_epoch is null or segment_end_epoch < next_start_epoch)

),

dated as (

    select
        *,
        {{ epoch_to_date('event_epoch') }} as change_date
    from events

),

last_of_day as (

    -- all changes of an item within one day net into its value at the end of the day
    select
        *,
        row_number() over (
            partition by item_key, change_date
            order by event_epoch desc
        ) as rank_in_day
    from dated

),

valued as (

    select
        last_of_day.customer_id,
        last_of_day.item_key,
        last_of_day.currency,
        last_of_day.change_date,
        last_of_day.mrr4,
        {{ mrr4_to_decimal('last_of_day.mrr4') }} as mrr_original,
        case
            when last_of_day.currency = '{{ reporting }}' then cast(1 as decimal(18, 8))
            else rates.rate_to_reporting
        end as rate_to_reporting,
        last_of_day.source_load_id,
        fx_loads.dlt_load_id as rate_load_id,
        last_of_day.as_of_sensitive_until
    from last_of_day
    left join rates
        on last_of_day.currency = rates.currency and last_of_day.change_date = rates.rate_date
    left join fx_loads
        on last_of_day.currency = fx_loads.currency and last_of_day.change_date = fx_loads.rate_date
    where last_of_day.rank_in_day = 1

),

final as (

    select
        customer_id,
        item_key,
        currency,
        change_date,
        mrr4,
        mrr_original,
        rate_to_reporting,
        -- a worthless item is 0 in any currency; a paid one without a rate stays unknown
        case
            when mrr4 = 0 then cast(0 as decimal(18, 4))
            else {{ convert_amount('mrr_original', 'rate_to_reporting', 4) }}
        end as mrr_reporting,
        -- a worthless item needs no rate; a missing rate for a paid one is never guessed
        mrr4 <> 0 and rate_to_reporting is null as is_missing_rate,
        source_load_id,
        rate_load_id,
        as_of_sensitive_until
    from valued

)

select * from final
