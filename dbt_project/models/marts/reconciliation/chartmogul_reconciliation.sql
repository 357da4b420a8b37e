{#- Our daily MRR against ChartMogul's for the as-of date: the last `reconciliation_days` days
    and the `reconciliation_month_ends` month ends before them, in the reporting currency and
    the warehouse's (UTC) day boundaries; exact (integer cents, no float).

    Rows are written only for an as-of date ChartMogul was read for (raw_chartmogul.account
    says which): without a ChartMogul load the build adds nothing and keeps earlier checks.
    A rebuild for the same as-of date replaces its rows; --full-refresh leaves the history
    alone (config full_refresh false). Days before the warehouse's MRR history begins are
    not compared. The check `mrr_within_threshold` (Dagster) judges the rows. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of',
    full_refresh=false,
    on_schema_change='fail',
    pre_hook="{{ reconciliation_replace_as_of() }}",
) }}

{%- set days = reconciliation_days() -%}
{%- set month_ends = reconciliation_month_ends() -%}

with chartmogul_read as (

    -- ChartMogul was read for this as-of date: when, and in which currency
    select max(read_at) as read_at
    from {{ ref('stg_chartmogul__account') }}
    where as_of = {{ as_of_date() }}

),

ours as (

    select
        summary_date,
        mrr_end,
        reporting_currency
    from {{ ref('mrr_summary_daily') }}

),

bounds as (

    select
        as_of,
        window_start,
        history_start,
        -- the first compared day: the window's, or the first day of our history
        case when window_start > history_start then window_start else history_start end
            as first_day
    from (
        select
            {{ as_of_date() }} as as_of,
            cast({{ dbt.dateadd('day', 1 - days, as_of_date()) }} as date) as window_start,
            coalesce(
                (select min(summary_date) from ours), cast({{ dbt.dateadd('day', 1, as_of_date()) }} as date)
            ) as history_start
    ) as settings

),

wanted as (

    {% if month_ends > 0 -%}
    -- the month ends before the window's month (one among the days is compared already)
    select
        metric_date,
        period
    from (
        select
            {{ dbt.last_day('spine_at', 'month') }} as metric_date,
            'month_end' as period
        from {{ date_series(
            dbt.dateadd('month', -month_ends, month_start('(select window_start from bounds)')),
            dbt.dateadd('month', -1, month_start('(select window_start from bounds)')),
            '1 month') }}
    ) as ends
    where metric_date >= (select history_start from bounds)

    union all

    {% endif -%}
    select
        cast(spine_at as date) as metric_date,
        'day' as period
    from {{ date_series('(select first_day from bounds)', '(select as_of from bounds)', '1 day') }}

),

currency as (

    -- the reporting currency of our compared rows (USD when there are none)
    select coalesce(max(upper(ours.reporting_currency)), 'USD') as currency
    from wanted
    inner join ours on wanted.metric_date = ours.summary_date
    where ours.reporting_currency is not null and ours.reporting_currency <> ''

),

theirs as (

    select
        bucket,
        metric_date,
        mrr_cents
    from {{ ref('stg_chartmogul__mrr_metrics') }}
    where as_of = {{ as_of_date() }}

),

compared as (

    select
        wanted.metric_date,
        wanted.period,
        cast(round(ours.mrr_end, 2) as decimal(18, 2)) as our_mrr,
        theirs.mrr_cents,
        cast(
            cast(theirs.mrr_cents as decimal(38, 0)) * cast(0.01 as decimal(3, 2))
            as decimal(18, 2)
        ) as chartmogul_mrr
    from wanted
    left join ours on wanted.metric_date = ours.summary_date
    left join theirs
        on wanted.metric_date = theirs.metric_date
        and theirs.bucket = case when wanted.period = 'day' then 'day' else 'month' end
    -- nothing unless ChartMogul was read for this as-of date
    where (select chartmogul_read.read_at from chartmogul_read) is not null

),

variances as (

    select
        *,
        cast(our_mrr - chartmogul_mrr as decimal(18, 2)) as variance,
        -- the variance in cents (exact) for the percentage below
        cast((our_mrr - chartmogul_mrr) * 100 as decimal(38, 0)) as variance_cents
    from compared

),

percents as (

    select
        *,
        case
            when our_mrr is null or chartmogul_mrr is null then null
            when mrr_cents = 0
                then
                    case
                        when variance_cents = 0 then cast(0 as decimal(12, 4))
                        else cast(100 as decimal(12, 4))
                    end
            -- variance / ChartMogul's x 100, to 4 places, halves away from zero
            else cast(
                cast({{ round_half_up_div(
                'variance_cents * 1000000 * sign(mrr_cents)',
                'abs(cast(mrr_cents as decimal(38, 0)))') }} as decimal(38, 0))
                * cast(0.0001 as decimal(5, 4)) as decimal(12, 4)
            )
        end as variance_percent
    from variances

),

final as (

    select
        cast({{ as_of_date() }} as date) as as_of,
        cast(metric_date as date) as metric_date,
        cast(period as varchar) as period,
        our_mrr,
        chartmogul_mrr,
        case when variance_percent is null then null else variance end as variance,
        variance_percent,
        cast(case
            when variance_percent is null then 'missing'
            when abs(variance_percent) > {{ reconciliation_threshold_percent() }}
                then 'over_threshold'
            else 'ok'
        end as varchar) as status,
        cast((select currency.currency from currency) as varchar) as currency,
        {{ reconciliation_threshold_percent() }} as threshold_percent,
        cast((select chartmogul_read.read_at from chartmogul_read) as timestamp with time zone) as checked_at
    from percents

)

select * from final
