{#- Raw tables follow what the source sent: dlt creates a table (a reject table, a nested
    list such as invoice line discounts) only when it first receives rows, and a column only
    when a value first arrives. Staging models read raw tables through these macros so a
    young account or an older Stripe API version builds instead of failing. -#}

{#- The relation of a source table, or none when it does not exist yet. -#}
{% macro source_relation_or_none(source_name, table_name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set node = source(source_name, table_name) -%}
    {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier)) }}
{%- endmacro %}

{#- `select ... from source` when the table exists, else an empty typed row set with the
    given columns ({name: type}); dbt still records the source dependency. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set node = source(source_name, table_name) -%}
    {%- set relation = source_relation_or_none(source_name, table_name) -%}
    {%- if relation is none and execute -%}
        select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}{% endfor %}
        where 1 = 0
    {%- else -%}
        select * from {{ node }}
    {%- endif -%}
{%- endmacro %}

{#- Lower-case names of a source table's columns (empty when it does not exist yet). -#}
{% macro source_columns(source_name, table_name) -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set relation = source_relation_or_none(source_name, table_name) -%}
        {%- if relation is not none -%}
            {%- for c in adapter.get_columns_in_relation(relation) -%}{%- do names.append(c.name | lower) -%}{%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}

{#- A column cast to `type`, or a typed null while the source has not sent it yet;
    `available` comes from source_columns(). -#}
{% macro column_or_null(available, column, type, alias=none) -%}
    {%- if column | lower in available -%}cast({{ adapter.quote(column) }} as {{ type }}){%- else -%}cast(null as {{ type }}){%- endif %} as {{ alias or column }}
{%- endmacro %}

{#- The first present of several columns (newer and older Stripe API versions name a field
    differently), coalesced in the order given. -#}
{% macro coalesce_columns(available, candidates, type, alias) -%}
    {%- set present = [] -%}
    {%- for name in candidates if name | lower in available -%}{%- do present.append('cast(' ~ adapter.quote(name) ~ ' as ' ~ type ~ ')') -%}{%- endfor -%}
    {%- if present | length == 0 -%}cast(null as {{ type }})
    {%- elif present | length == 1 -%}{{ present[0] }}
    {%- else -%}coalesce({{ present | join(', ') }}){%- endif %} as {{ alias }}
{%- endmacro %}
