{#-
    Small SQL helpers. Anything specific to DuckDB lives here (as `duckdb__` dispatch
    implementations), so the models stay portable; a port to another warehouse adds
    `<adapter>__` versions of these macros only.
-#}

{#- First day of the month of a date or timestamp, as a DATE. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}

{#- Money: decimal(18,2). -#}
{% macro money(expression) -%}
    cast({{ expression }} as {{ type_money() }})
{%- endmacro %}

{% macro type_money() -%}
    decimal(18, 2)
{%- endmacro %}

{#- A double-precision float (dbt.type_float() is a 4-byte FLOAT on DuckDB: too coarse). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'rcm')()) }}
{%- endmacro %}
{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{#- numerator / denominator, null when the denominator is 0 or null (rates: ratio of sums). -#}
{% macro safe_ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }})
    / nullif(cast({{ denominator }} as {{ type_double() }}), 0)
{%- endmacro %}

{#- A code compared as upper case without dots or blanks. -#}
{% macro normalize_code(expression) -%}
    nullif(upper(replace(replace(trim({{ expression }}), '.', ''), ' ', '')), '')
{%- endmacro %}

{#-
    A derived table for a from clause: every column of `relation` (a CTE or table name) plus
    one row per element of its list column `list_column`, the element as `element_alias` and
    its 1-based position in the list as `position_alias`. A null or empty list gives no row.
        from {{ unnest_list('encounters', 'documented_dx_codes', 'code', 'code_position') }}
            as dx_codes
-#}
{% macro unnest_list(relation, list_column, element_alias, position_alias='element_position') -%}
    {{ return(adapter.dispatch('unnest_list', 'rcm')(
        relation, list_column, element_alias, position_alias
    )) }}
{%- endmacro %}
{% macro duckdb__unnest_list(relation, list_column, element_alias, position_alias) -%}
    (
        select
            {{ relation }}.*,
            unnest({{ relation }}.{{ list_column }}) as {{ element_alias }},
            generate_subscripts({{ relation }}.{{ list_column }}, 1) as {{ position_alias }}
        from {{ relation }}
    )
{%- endmacro %}

{#- First element of a list (null for an empty or null list). -#}
{% macro list_first(list_expression) -%}
    {{ return(adapter.dispatch('list_first', 'rcm')(list_expression)) }}
{%- endmacro %}
{% macro duckdb__list_first(list_expression) -%}
    {{ list_expression }}[1]
{%- endmacro %}

{#- Number of elements of a list (0 for null). -#}
{% macro list_size(list_expression) -%}
    {{ return(adapter.dispatch('list_size', 'rcm')(list_expression)) }}
{%- endmacro %}
{% macro duckdb__list_size(list_expression) -%}
    coalesce(len({{ list_expression }}), 0)
{%- endmacro %}

{#- A list column with each element normalized as a code, nulls and blanks dropped. -#}
{% macro normalize_code_list(list_expression) -%}
    {{ return(adapter.dispatch('normalize_code_list', 'rcm')(list_expression)) }}
{%- endmacro %}
{% macro duckdb__normalize_code_list(list_expression) -%}
    list_filter(
        list_transform({{ list_expression }}, lambda code: {{ normalize_code('code') }}),
        lambda code: code is not null
    )
{%- endmacro %}

{#- Is a value in a list column. -#}
{% macro list_has(list_expression, value_expression) -%}
    {{ return(adapter.dispatch('list_has', 'rcm')(list_expression, value_expression)) }}
{%- endmacro %}
{% macro duckdb__list_has(list_expression, value_expression) -%}
    coalesce(list_contains({{ list_expression }}, {{ value_expression }}), false)
{%- endmacro %}

{#- Does text fully match a regular expression. -#}
{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'rcm')(expression, pattern)) }}
{%- endmacro %}
{% macro duckdb__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{#- Median of an expression (aggregate). -#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'rcm')(expression)) }}
{%- endmacro %}
{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}
{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{#- Discrete percentile of an expression (aggregate), nearest rank: the smallest value with at
    least `fraction` of the values at or below it (ANSI ordered-set aggregate). -#}
{% macro percentile_disc(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile_disc', 'rcm')(expression, fraction)) }}
{%- endmacro %}
{% macro default__percentile_disc(expression, fraction) -%}
    percentile_disc({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{#- SHA-256 of a text expression, as 64 lower-case hex digits. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'rcm')(expression)) }}
{%- endmacro %}
{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{#-
    Pseudonymous key: SHA-256 (hex) of the salt (dbt var patient_key_salt, from the
    environment variable RCM_PATIENT_KEY_SALT in production), a '|' and the value. Null for
    a null value.
-#}
{% macro pseudonymize(expression) -%}
    case
        when {{ expression }} is not null
            then {{ sha256_hex(dbt.concat([
                "'" ~ dbt.escape_single_quotes(var('patient_key_salt')) ~ "|'", expression
            ])) }}
    end
{%- endmacro %}

{#-
    Keep one row per `partition_by` of `relation` (a CTE name): the first in `order_by`.
    A whole select statement, usable as a CTE body.
-#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate', 'rcm')(relation, partition_by, order_by)) }}
{%- endmacro %}
{% macro duckdb__deduplicate(relation, partition_by, order_by) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
            partition by {{ partition_by }}
            order by {{ order_by }}
        ) = 1
{%- endmacro %}

{#-
    True when a 10-character text is a valid NPI: 10 digits whose last is the Luhn check
    digit computed over the 9-digit base with the constant 24 for the 80840 prefix (same
    rule as rcm.npi.is_valid_npi). False for null.
-#}
{% macro npi_is_valid(expression) -%}
    coalesce(
        length({{ expression }}) = 10
        and {{ regex_full_match(expression, '[0-9]{10}') }}
        and mod(
            10 - mod(
                24
                {%- for position in range(1, 10) %}
                {#- from the right of the 9-digit base: positions 9, 7, 5, 3, 1 are doubled #}
                {%- if (9 - position) % 2 == 0 %}
                + (
                    (ascii(substr({{ expression }}, {{ position }}, 1)) - 48) * 2
                    - case when (ascii(substr({{ expression }}, {{ position }}, 1)) - 48) >= 5 then 9 else 0 end
                )
                {%- else %}
                + (ascii(substr({{ expression }}, {{ position }}, 1)) - 48)
                {%- endif %}
                {%- endfor %},
                10
            ),
            10
        ) = (ascii(substr({{ expression }}, 10, 1)) - 48),
        false
    )
{%- endmacro %}

{#- A SQL list of quoted text literals from a list (e.g. a dbt var): ('1', '2'). -#}
{% macro text_list(values) -%}
    ({% for value in values %}'{{ value }}'{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Integer division truncating toward zero, for non-negative operands exact floor. -#}
{% macro integer_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('integer_divide', 'rcm')(numerator, denominator)) }}
{%- endmacro %}
{% macro duckdb__integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{#- Round half to even (banker's rounding) to `digits` decimals. -#}
{% macro round_half_even(expression, digits) -%}
    {{ return(adapter.dispatch('round_half_even', 'rcm')(expression, digits)) }}
{%- endmacro %}
{% macro duckdb__round_half_even(expression, digits) -%}
    round_even({{ expression }}, {{ digits }})
{%- endmacro %}

{#- An exact integer type wide enough for cents x cents products. -#}
{% macro wide_integer_type() -%}
    {{ return(adapter.dispatch('wide_integer_type', 'rcm')()) }}
{%- endmacro %}
{% macro default__wide_integer_type() -%}
    decimal(38, 0)
{%- endmacro %}
{% macro duckdb__wide_integer_type() -%}
    hugeint
{%- endmacro %}
