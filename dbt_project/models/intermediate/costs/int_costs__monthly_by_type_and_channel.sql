{#- Costs per month, cost type and channel in the reporting currency. The amount is null
    when any of its rows lacks an exchange rate (a partial sum would understate the cost);
    reason then lists the missing rates. -#}

with cost_rows as (

    select * from {{ ref('int_costs__rows_reporting') }}

),

grouped as (

    select
        cost_month,
        cost_type,
        cost_group,
        channel,
        count(*) as row_count,
        sum(case when data_quality = 'actual' then 0 else 1 end) as rows_without_rate,
        sum(amount_reporting) as known_amount_reporting,
        string_agg(distinct reason, '; ' order by reason) as reason
    from cost_rows
    group by cost_month, cost_type, cost_group, channel

),

final as (

    select
        cost_month,
        cost_type,
        cost_group,
        channel,
        cast(row_count as bigint) as row_count,
        cast(rows_without_rate as bigint) as rows_without_rate,
        cast(case when rows_without_rate = 0 then known_amount_reporting end as decimal(18, 4))
            as amount_reporting,
        case when rows_without_rate = 0 then 'actual' else 'insufficient_data' end as data_quality,
        case when rows_without_rate = 0 then null else reason end as reason
    from grouped

)

select * from final
