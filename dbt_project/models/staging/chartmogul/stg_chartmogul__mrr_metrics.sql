with source as (

    {{ source_or_empty('chartmogul', 'mrr_metrics', {
        'bucket': 'varchar', 'date': 'date', 'mrr': 'bigint', 'mrr_new_business': 'bigint',
        'mrr_expansion': 'bigint', 'mrr_contraction': 'bigint', 'mrr_churn': 'bigint',
        'mrr_reactivation': 'bigint', 'as_of': 'date', 'read_at': 'timestamp with time zone',
        '_dlt_load_id': 'varchar'}) }}

),

renamed as (

    select
        cast(bucket as varchar) as bucket,
        -- the last day of the bucket: the MRR is ChartMogul's at its end
        cast(date as date) as metric_date,
        cast(mrr as bigint) as mrr_cents,
        cast(mrr_new_business as bigint) as new_business_cents,
        cast(mrr_expansion as bigint) as expansion_cents,
        cast(mrr_contraction as bigint) as contraction_cents,
        cast(mrr_churn as bigint) as churn_cents,
        cast(mrr_reactivation as bigint) as reactivation_cents,
        cast(as_of as date) as as_of,
        cast(read_at as timestamp with time zone) as read_at,
        _dlt_load_id as dlt_load_id
    from source

)

select * from renamed
