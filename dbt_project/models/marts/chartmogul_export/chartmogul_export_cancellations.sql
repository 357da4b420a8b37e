{#- The cancellation dates of each ChartMogul subscription (a Stripe subscription item, or
    a PayPal or local-gateway subscription), one row per date, so that churn lands in
    ChartMogul on the day the MRR engine churns it:
    - where the subscription's last segment of MRR ends (a cancellation, at period end or
      at once, an unpaid subscription given up, a scheduled cancellation; a gateway
      subscription whose last paid period ended on or before the as-of date);
    - where a Stripe item was removed mid-period (its proration only credits the old
      price, and ChartMogul refuses the negative line);
    - where a gateway period lapsed (its payment failed and the retries ran out).
    ChartMogul ends a subscription's service periods at a cancellation date; a period that
    starts after it counts again. -#}

with segments as (

    select * from {{ ref('int_mrr__segments') }}

),

revenue_lines as (

    select * from {{ ref('int_revenue__invoice_lines') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

ranked as (

    -- the MRR engine's order of an item's segments (int_mrr__item_days)
    select
        *,
        row_number() over (
            partition by item_key
            order by segment_start_epoch desc, is_proration desc, source_row_id desc
        ) as rank_from_last
    from segments

),

last_segment_ends as (

    select
        ranked.item_key,
        ranked.customer_id,
        ranked.segment_end_epoch as cancelled_epoch,
        'ended' as reason
    from ranked
    cross join as_of
    where
        ranked.rank_from_last = 1
        and ranked.segment_end_epoch is not null
        and (
            ranked.gateway = 'stripe'
            -- ended by the as-of day's first second
            or {{ epoch_to_timestamp('ranked.segment_end_epoch') }} <= cast(as_of.as_of_date as timestamp)
        )

),

removed_items as (

    select
        segments.item_key,
        segments.customer_id,
        segments.segment_start_epoch as cancelled_epoch,
        'item removed' as reason
    from segments
    inner join revenue_lines on segments.source_row_id = revenue_lines.invoice_line_id
    where segments.gateway = 'stripe' and segments.is_proration and revenue_lines.amount_minor < 0

),

lapsed_periods as (

    select
        item_key,
        customer_id,
        segment_start_epoch as cancelled_epoch,
        'payment lapsed' as reason
    from segments
    where gateway <> 'stripe' and mrr4 = 0 and as_of_sensitive_until is not null

),

unioned as (

    select * from last_segment_ends
    union all
    select * from removed_items
    union all
    select * from lapsed_periods

),

final as (

    select
        item_key as subscription_external_id,
        min(customer_id) as customer_external_id,
        {{ epoch_to_timestamp('cancelled_epoch') }} as cancelled_at,
        min(reason) as reason
    from unioned
    group by item_key, cancelled_epoch

)

select * from final
