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
