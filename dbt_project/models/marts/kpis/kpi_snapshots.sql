{#- The KPI table as each build saw it: every row of `kpis` under the as-of date of the build
    (snapshot_date), so what was reported on a day survives later corrections (late refunds,
    back-dated cancellations, new exchange rates). A rebuild for the same as-of date replaces
    that day's snapshot; --full-refresh leaves the history alone. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='snapshot_date',
    full_refresh=false,
    on_schema_change='fail',
) }}

with kpis as (

    select * from {{ ref('kpis') }}

),

final as (

    select
        cast(cast({{ as_of_date() }} as varchar) || '|' || kpi_id as varchar) as kpi_snapshot_id,
        cast({{ as_of_date() }} as date) as snapshot_date,
        date,
        kpi,
        segment,
        value,
        unit,
        target,
        data_quality,
        reason,
        method
    from kpis

)

select * from final
