{#- The MRR bridge per month, from the first month with MRR to the as-of month (the current
    month ends on the as-of date), with the rates of MRR_RULES.md:
    mrr_end = mrr_start + new + expansion + reactivation - contraction - churned + fx_adjustment.
    NRR and GRR count only customers paying at the start of the month. -#}

with customer_months as (

    select * from {{ ref('fct_mrr_monthly') }}

),

month_totals as (

    select
        month,
        sum(mrr_start) as mrr_start,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(fx_adjustment) as fx_adjustment,
        sum(mrr) as mrr_end,
        sum(case when is_paying_start then 1 else 0 end) as paying_customers_start,
        sum(case when is_paying_end then 1 else 0 end) as paying_customers_end,
        sum(case when is_new then 1 else 0 end) as new_customers,
        sum(case when has_churned then 1 else 0 end) as churned_customers,
        sum(case when is_reactivated then 1 else 0 end) as reactivated_customers,
        -- paying at the start, not at the end: joined-and-left and left-and-returned
        -- customers of the same month do not count (MRR_RULES.md)
        sum(case when is_paying_start and not is_paying_end then 1 else 0 end) as customers_lost,
        sum(case
            when is_paying_start
                then mrr_start + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr
            else 0
        end) as retained_mrr_net,
        sum(case
            when is_paying_start
                then mrr_start - contraction_mrr - churned_mrr
            else 0
        end) as retained_mrr_gross,
        max(case when data_quality <> 'actual' then 1 else 0 end) as lacks_rate
    from customer_months
    group by month

),

final as (

    select
        month,
        cast(mrr_start as decimal(18, 4)) as mrr_start,
        {{ bridge_movement_columns() }},
        cast(mrr_end as decimal(18, 4)) as mrr_end,
        cast(paying_customers_start as bigint) as paying_customers_start,
        cast(paying_customers_end as bigint) as paying_customers_end,
        cast(new_customers as bigint) as new_customers,
        cast(churned_customers as bigint) as churned_customers,
        cast(reactivated_customers as bigint) as reactivated_customers,
        {{ bridge_rates() }},
        {{ ratio('retained_mrr_net', 'mrr_start') }} as nrr,
        {{ ratio('retained_mrr_gross', 'mrr_start') }} as grr,
        '{{ reporting_currency() }}' as reporting_currency,
        case when lacks_rate = 1 then 'insufficient_data' else 'actual' end as data_quality
    from month_totals

)

select * from final
