{#- The rates MRR_RULES.md derives from a bridge row (columns of mrr_summary_*). -#}
{% macro bridge_rates() -%}
        cast(mrr_end * 12 as decimal(18, 4)) as arr,
        {{ divide_money('mrr_end', 'paying_customers_end') }} as arpa,
        {{ ratio('mrr_end - mrr_start', 'mrr_start') }} as mrr_growth_rate,
        {{ ratio('new_mrr + expansion_mrr + reactivation_mrr', 'contraction_mrr + churned_mrr') }} as quick_ratio,
        {{ ratio('customers_lost', 'paying_customers_start') }} as customer_churn_rate,
        {{ ratio('churned_mrr + contraction_mrr', 'mrr_start') }} as gross_mrr_churn_rate,
        {{ ratio('churned_mrr + contraction_mrr - expansion_mrr - reactivation_mrr', 'mrr_start') }} as net_mrr_churn_rate
{%- endmacro %}

{#- The movement columns of a bridge row as DECIMAL(18,4), in the marts' order. -#}
{% macro bridge_movement_columns() -%}
        cast(new_mrr as decimal(18, 4)) as new_mrr,
        cast(expansion_mrr as decimal(18, 4)) as expansion_mrr,
        cast(reactivation_mrr as decimal(18, 4)) as reactivation_mrr,
        cast(contraction_mrr as decimal(18, 4)) as contraction_mrr,
        cast(churned_mrr as decimal(18, 4)) as churned_mrr,
        cast(fx_adjustment as decimal(18, 4)) as fx_adjustment
{%- endmacro %}

{#- Sums of one period's movements from int_mrr__customer_days rows (contraction and churn
    as positive magnitudes). -#}
{% macro movement_sums() -%}
        sum(case when movement_type = 'new' then mrr_change else 0 end) as new_mrr,
        sum(case when movement_type = 'expansion' then mrr_change else 0 end) as expansion_mrr,
        sum(case when movement_type = 'reactivation' then mrr_change else 0 end) as reactivation_mrr,
        -sum(case when movement_type = 'contraction' then mrr_change else 0 end) as contraction_mrr,
        -sum(case when movement_type = 'churn' then mrr_change else 0 end) as churned_mrr,
        sum(fx_adjustment) as fx_adjustment
{%- endmacro %}
