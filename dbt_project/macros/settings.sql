{#- The MRR rules' settings (dbt vars), checked once so a typo fails the run loudly. -#}

{#- The as-of date: var `as_of` when given (by hand, or by a unit test), else REVWH_AS_OF,
    which `revwh run` and Dagster set. The variable is read only when SQL is rendered to
    run, never while parsing: a var or parse-time value that changes daily would make dbt
    re-parse the whole project on every run. Neither set: the warehouse's current date. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of', none) -%}
    {%- if (value is none or value == '') and execute -%}
        {%- set value = env_var('REVWH_AS_OF', '') -%}
    {%- endif -%}
    {%- if value is none or value == '' -%}
        current_date
    {%- else -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value | string) -%}
            {{ exceptions.raise_compiler_error("var as_of must be YYYY-MM-DD, got " ~ value) }}
        {%- endif -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro reporting_currency() -%}
    {%- set value = var('reporting_currency', 'USD') | string | upper -%}
    {%- if not modules.re.match('^[A-Z]{3}$', value) -%}
        {{ exceptions.raise_compiler_error("var reporting_currency must be an ISO code like USD, got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro churn_recognition() -%}
    {%- set value = var('churn_recognition', 'ended') -%}
    {%- if value not in ('ended', 'requested') -%}
        {{ exceptions.raise_compiler_error("var churn_recognition must be 'ended' or 'requested', got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{% macro unpaid_is_churn() -%}
    {%- set value = var('unpaid_is_churn', false) -%}
    {%- if value is string -%}{%- set value = value | lower in ('true', '1', 'yes') -%}{%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- KPIs may be estimated (marked `estimated`, with the method) only when this is true. -#}
{% macro allow_estimates() -%}
    {%- set value = var('allow_estimates', false) -%}
    {%- if value is string -%}{%- set value = value | lower in ('true', '1', 'yes') -%}{%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- Days a gateway keeps retrying a failed renewal before the subscription lapses: a whole
    number, pasted into date arithmetic, so checked like the others. -#}
{% macro gateway_retry_days() -%}
    {%- set value = var('gateway_retry_days', 1) | string | trim -%}
    {%- if not modules.re.match('^[0-9]{1,3}$', value) -%}
        {{ exceptions.raise_compiler_error("var gateway_retry_days must be a whole number of days (0 to 999), got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- Stripe product ids whose one-time lines are credit packs (a list, or one comma-separated
    string); each is written into SQL as a literal, so each must look like a Stripe id. -#}
{% macro credit_pack_product_ids() -%}
    {%- set value = var('credit_pack_product_ids', ['prod_credits']) -%}
    {%- if value is none -%}{%- set value = [] -%}{%- endif -%}
    {%- if value is string -%}{%- set value = value.split(',') | map('trim') | reject('equalto', '') | list -%}{%- endif -%}
    {%- if value is mapping or value is not iterable -%}
        {{ exceptions.raise_compiler_error("var credit_pack_product_ids must be a list of Stripe product ids, got " ~ value) }}
    {%- endif -%}
    {%- for product_id in value -%}
        {%- if not modules.re.match('^[A-Za-z0-9_]{1,255}$', product_id | string) -%}
            {{ exceptions.raise_compiler_error("var credit_pack_product_ids must hold Stripe product ids (letters, digits and _), got " ~ product_id) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(value | list) }}
{%- endmacro %}

{#- One string naming every setting that changes MRR history; stored on each row of the
    incremental MRR models so a changed setting triggers a full rebuild. -#}
{% macro mrr_settings_fingerprint() -%}
    {{ return(reporting_currency() ~ '|' ~ churn_recognition() ~ '|' ~ unpaid_is_churn() ~ '|' ~ gateway_retry_days()) }}
{%- endmacro %}

{#- True for a row of the given source id when this build recomputes its customer: always
    in a full build, else when the customer is in int_build__rebuild_scope. Used early in the
    per-customer models, before any window or join, so an hourly run reads only the rows of
    the customers that changed. The scope is read when the model compiles (it was built
    earlier in the same run) and written as a literal list, which the database applies
    while scanning; a large scope falls back to a subquery. -#}
{% macro in_rebuild_scope(column, id_type) -%}
    {{ return(_scope_condition(column, "id_type = '" ~ id_type ~ "'", 'source_id')) }}
{%- endmacro %}

{#- The same test for a unified customer id. -#}
{% macro customer_in_rebuild_scope(column) -%}
    {{ return(_scope_condition(column, 'true', 'customer_id')) }}
{%- endmacro %}

{% macro _scope_condition(column, where, id_column, max_literals=20000) -%}
    {%- set state = ref('int_build__state') -%}
    {%- set scope = ref('int_build__rebuild_scope') -%}
    {%- if execute -%}
        {%- set rebuild_all = run_query('select rebuild_all from ' ~ state).columns[0].values() -%}
        {%- if rebuild_all | length == 0 or rebuild_all[0] -%}{{ return('(1 = 1)') }}{%- endif -%}
        {%- set ids = run_query('select distinct ' ~ id_column ~ ' from ' ~ scope ~ ' where ' ~ where).columns[0].values() -%}
        {%- if ids | length == 0 -%}{{ return('(1 = 0)') }}{%- endif -%}
        {%- if ids | length <= max_literals -%}
            {%- set quoted = [] -%}
            {%- for id in ids -%}{%- do quoted.append("'" ~ (id | replace("'", "''")) ~ "'") -%}{%- endfor -%}
            {{ return('(' ~ column ~ ' in (' ~ quoted | join(', ') ~ '))') }}
        {%- endif -%}
    {%- endif -%}
    {{ return('((select rebuild_all from ' ~ state ~ ') or ' ~ column ~ ' in (select ' ~ id_column ~ ' from ' ~ scope ~ ' where ' ~ where ~ '))') }}
{%- endmacro %}

{#- True for a customer whose rows in a per-customer mart this build recomputes: everyone in
    a full build (or, with `monthly`, on the first build of a new month), the customers in
    the rebuild scope, and those with an MRR change that the as-of date has just reached
    (a cancellation scheduled for the end of a period becomes visible without new data). -#}
{% macro mart_customer_in_refresh(column, monthly=false) -%}
    ((select rebuild_all{% if monthly %} or is_new_month{% endif %} from {{ ref('int_build__state') }})
        or {{ customer_in_rebuild_scope(column) }}
        or {{ column }} in (
            select customer_id from {{ ref('int_mrr__customer_days') }}
            where change_date > (select previous_as_of_date from {{ ref('int_build__state') }})
                and change_date <= (select as_of_date from {{ ref('int_build__state') }})))
{%- endmacro %}
