{#- Unit economics per month, from the cost sheets, the customers and the MRR bridge.
    Grain: one row per month and segment: `all` (company-wide: blended CAC, burn, net burn,
    gross margin, sales efficiency, ARR, NRR, GRR, quick ratio) and `channel:<name>` (CAC of
    one acquisition channel; the company-wide columns are null there).
    A value is computed from loaded facts or it is null: a missing input (no cost sheet row
    in the month, no rate for a cost's or revenue's day, MRR flagged) makes the row
    `insufficient_data` with the reason; nothing falls back to a constant. -#}

{%- set as_of = as_of_date() %}

with cost_groups as (

    select * from {{ ref('int_costs__monthly_by_type_and_channel') }}

),

cost_rows as (

    select * from {{ ref('int_costs__rows_reporting') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

revenue as (

    select * from {{ ref('fct_revenue') }}
    where revenue_date <= {{ as_of }}

),

mrr as (

    select * from {{ ref('mrr_summary_monthly') }}

),

new_customers as (

    -- a customer is new in the month their first paid period started (cohort_month)
    select
        {{ month_start('first_paid_date') }} as month,
        coalesce(acquisition_channel, 'unknown') as channel,
        count(*) as new_customers
    from customers
    where first_paid_date is not null and first_paid_date <= {{ as_of }}
    group by {{ month_start('first_paid_date') }}, coalesce(acquisition_channel, 'unknown')

),

bounds as (

    select min(month) as first_month from (
        select cost_month as month from cost_groups
        union all
        select month from new_customers
        union all
        select month from mrr
        union all
        select {{ month_start('revenue_date') }} from revenue
    ) as months

),

months as (

    select cast(spine_at as date) as month
    from {{ date_series('(select first_month from bounds)', month_start(as_of), '1 month') }}

),

month_costs as (

    select
        cost_month as month,
        sum(row_count) as cost_rows,
        sum(rows_without_rate) as rows_without_rate,
        sum(amount_reporting) as known_cost,
        sum(case when cost_group = 'sales_marketing' then row_count else 0 end) as sm_rows,
        sum(case when cost_group = 'sales_marketing' then rows_without_rate else 0 end) as sm_without_rate,
        sum(case when cost_group = 'sales_marketing' then amount_reporting end) as sm_known,
        sum(case when cost_type in ('marketing', 'advertising') then row_count else 0 end) as marketing_rows,
        sum(case when cost_group = 'cogs' then row_count else 0 end) as cogs_rows,
        sum(case when cost_group = 'cogs' then rows_without_rate else 0 end) as cogs_without_rate,
        sum(case when cost_group = 'cogs' then amount_reporting end) as cogs_known
    from cost_groups
    group by cost_month

),

cost_rate_reasons as (

    select
        cost_month as month,
        string_agg(distinct reason, '; ' order by reason) as reason
    from cost_rows
    where reason is not null
    group by cost_month

),

channel_costs as (

    select
        cost_month as month,
        channel,
        sum(rows_without_rate) as rows_without_rate,
        sum(amount_reporting) as known_cost
    from cost_groups
    where cost_group = 'sales_marketing' and channel is not null
    group by cost_month, channel

),

channel_rate_reasons as (

    select
        cost_month as month,
        channel,
        string_agg(distinct reason, '; ' order by reason) as reason
    from cost_rows
    where reason is not null and cost_group = 'sales_marketing' and channel is not null
    group by cost_month, channel

),

month_revenue as (

    select
        {{ month_start('revenue_date') }} as month,
        sum(case when data_quality = 'actual' then 0 else 1 end) as rows_without_rate,
        sum(net_collected_amount_reporting) as collected,
        sum(net_revenue_reporting) as net_revenue,
        string_agg(distinct case
            when data_quality <> 'actual'
                then
                    'no exchange rate for '
                    || upper(currency)
                    || ' on '
                    || cast(revenue_date as varchar)
                    || ' (revenue)'
        end, '; ' order by case
            when data_quality <> 'actual'
                then
                    'no exchange rate for '
                    || upper(currency)
                    || ' on '
                    || cast(revenue_date as varchar)
                    || ' (revenue)'
        end) as reason
    from revenue
    group by {{ month_start('revenue_date') }}

),

month_new as (

    select
        month,
        sum(new_customers) as new_customers
    from new_customers
    group by month

),

company_inputs as (

    select
        months.month,
        coalesce(month_new.new_customers, 0) as new_customers,
        coalesce(month_costs.cost_rows, 0) as cost_rows,
        case
            when coalesce(month_costs.sm_rows, 0) > 0 and month_costs.sm_without_rate = 0
                then month_costs.sm_known
        end as sm_cost,
        case
            when coalesce(month_costs.cogs_rows, 0) > 0 and month_costs.cogs_without_rate = 0
                then month_costs.cogs_known
        end as cogs,
        case
            when coalesce(month_costs.cost_rows, 0) > 0 and month_costs.rows_without_rate = 0
                then month_costs.known_cost
        end as burn,
        -- no revenue row in a month is no money: 0, which is a fact, not a fallback
        case
            when coalesce(month_revenue.rows_without_rate, 0) = 0
                then coalesce(month_revenue.collected, 0)
        end as collected,
        case
            when coalesce(month_revenue.rows_without_rate, 0) = 0
                then coalesce(month_revenue.net_revenue, 0)
        end as net_revenue,
        -- before the first month with MRR there is none: 0 ARR is a fact
        case
            when mrr.month is null then 0
            when mrr.data_quality = 'actual' then mrr.new_mrr * 12
        end as new_arr,
        case
            when mrr.month is null then 0
            when mrr.data_quality = 'actual' then mrr.arr
        end as arr,
        case when mrr.data_quality = 'actual' then mrr.nrr end as nrr,
        case when mrr.data_quality = 'actual' then mrr.grr end as grr,
        case when mrr.data_quality = 'actual' then mrr.quick_ratio end as quick_ratio,
        nullif(concat_ws(
            '; ',
            case
                when coalesce(month_costs.cost_rows, 0) = 0
                    then 'no cost sheets loaded for this month'
            end,
            case
                when month_costs.cost_rows > 0 and month_costs.sm_rows = 0
                    then 'no sales or marketing costs in the cost sheets for this month'
            end,
            case
                when month_costs.cost_rows > 0 and month_costs.cogs_rows = 0
                    then 'no COGS (hosting, payment fees, support, other COGS) in the cost sheets for this month'
            end,
            cost_rate_reasons.reason,
            month_revenue.reason,
            case
                when mrr.data_quality <> 'actual'
                    then 'MRR lacks an exchange rate for some customers (see mrr_summary_monthly)'
            end
        ), '') as reason
    from months
    left join month_new on months.month = month_new.month
    left join month_costs on months.month = month_costs.month
    left join cost_rate_reasons on months.month = cost_rate_reasons.month
    left join month_revenue on months.month = month_revenue.month
    left join mrr on months.month = mrr.month

),

company as (

    select
        month,
        'all' as segment,
        cast(null as varchar) as acquisition_channel,
        new_customers,
        sm_cost as sales_marketing_cost,
        {{ divide_money('sm_cost', 'new_customers') }} as cac,
        burn,
        collected as collected_revenue,
        burn - collected as net_burn,
        net_revenue as revenue,
        cogs,
        net_revenue - cogs as gross_profit,
        case when net_revenue > 0 then {{ ratio('net_revenue - cogs', 'net_revenue') }} end as gross_margin,
        new_arr,
        case when sm_cost > 0 then {{ ratio('new_arr', 'sm_cost') }} end as sales_efficiency,
        arr,
        nrr,
        grr,
        quick_ratio,
        reason
    from company_inputs

),

channels as (

    select distinct channel from new_customers
    union
    select distinct channel from channel_costs

),

channel_inputs as (

    select
        months.month,
        channels.channel,
        coalesce(new_customers.new_customers, 0) as new_customers,
        -- costs are attributed to a channel only by the marketing sheet: without its rows
        -- in the month a channel's spend is unknown, not 0
        case
            when
                channels.channel <> 'unknown'
                and coalesce(month_costs.marketing_rows, 0) > 0
                and coalesce(channel_costs.rows_without_rate, 0) = 0
                then coalesce(channel_costs.known_cost, 0)
        end as channel_cost,
        nullif(concat_ws(
            '; ',
            case
                when coalesce(month_costs.cost_rows, 0) = 0
                    then 'no cost sheets loaded for this month'
            end,
            case
                when month_costs.cost_rows > 0 and month_costs.marketing_rows = 0
                    then 'no marketing or advertising costs in the cost sheets for this month'
            end,
            case
                when channels.channel = 'unknown'
                    then 'acquisition channel unknown for these customers: their cost is only in the blended CAC'
            end,
            channel_rate_reasons.reason
        ), '') as reason
    from months
    cross join channels
    left join new_customers
        on months.month = new_customers.month and channels.channel = new_customers.channel
    left join channel_costs
        on months.month = channel_costs.month and channels.channel = channel_costs.channel
    left join channel_rate_reasons
        on months.month = channel_rate_reasons.month and channels.channel = channel_rate_reasons.channel
    left join month_costs on months.month = month_costs.month
    -- customers without a channel get a row only in the months some of them are new
    where channels.channel <> 'unknown' or new_customers.new_customers > 0

),

by_channel as (

    select
        month,
        'channel:' || channel as segment,
        channel as acquisition_channel,
        new_customers,
        channel_cost as sales_marketing_cost,
        {{ divide_money('channel_cost', 'new_customers') }} as cac,
        cast(null as decimal(18, 4)) as burn,
        cast(null as decimal(18, 4)) as collected_revenue,
        cast(null as decimal(18, 4)) as net_burn,
        cast(null as decimal(18, 4)) as revenue,
        cast(null as decimal(18, 4)) as cogs,
        cast(null as decimal(18, 4)) as gross_profit,
        cast(null as decimal(18, 6)) as gross_margin,
        cast(null as decimal(18, 4)) as new_arr,
        cast(null as decimal(18, 6)) as sales_efficiency,
        cast(null as decimal(18, 4)) as arr,
        cast(null as decimal(18, 6)) as nrr,
        cast(null as decimal(18, 6)) as grr,
        cast(null as decimal(18, 6)) as quick_ratio,
        reason
    from channel_inputs

),

unioned as (

    select * from company
    union all
    select * from by_channel

),

final as (

    select
        month,
        cast(segment as varchar) as segment,
        cast(acquisition_channel as varchar) as acquisition_channel,
        cast(new_customers as bigint) as new_customers,
        cast(sales_marketing_cost as decimal(18, 4)) as sales_marketing_cost,
        cast(cac as decimal(18, 4)) as cac,
        cast(burn as decimal(18, 4)) as burn,
        cast(collected_revenue as decimal(18, 4)) as collected_revenue,
        cast(net_burn as decimal(18, 4)) as net_burn,
        cast(revenue as decimal(18, 4)) as revenue,
        cast(cogs as decimal(18, 4)) as cogs,
        cast(gross_profit as decimal(18, 4)) as gross_profit,
        cast(gross_margin as decimal(18, 6)) as gross_margin,
        cast(new_arr as decimal(18, 4)) as new_arr,
        cast(sales_efficiency as decimal(18, 6)) as sales_efficiency,
        cast(arr as decimal(18, 4)) as arr,
        cast(nrr as decimal(18, 6)) as nrr,
        cast(grr as decimal(18, 6)) as grr,
        cast(quick_ratio as decimal(18, 6)) as quick_ratio,
        '{{ reporting_currency() }}' as reporting_currency,
        case when reason is null then 'actual' else 'insufficient_data' end as data_quality,
        cast(reason as varchar) as reason
    from unioned

)

select * from final
