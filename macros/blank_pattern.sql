{#- A text that is empty or only whitespace, of any kind: Unicode's White_Space characters (tab,
    line breaks, space, no-break spaces, the typographic spaces U+2000-U+200A, ideographic space
    and the rest). A Java regular expression for a SQL literal. -#}
{% macro blank_pattern() -%}
    ^[\\x{9}-\\x{d}\\x{20}\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]*\\z
{%- endmacro %}
