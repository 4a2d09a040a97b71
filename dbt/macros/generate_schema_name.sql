{#-
    Schemas are exactly `staging`, `intermediate`, `marts` (and `ref` for seeds): a custom
    schema is used as is, not prefixed with the target schema as dbt does by default.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
