{#- Marts land in schema `marts`, not `<target schema>_marts`: analysts and BI tools
    query fixed names whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
