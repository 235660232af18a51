import ChatTemplates
import Foundation
import JSON
import Testing

/// Small engine cases. Every expected string was produced by jinja2 3.1.6 in the spec §6 environment
/// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, transformers' `tojson`,
/// strftime_now frozen at 2025-03-07 09:05:03) by /work/dev/py/cases.py + gen_tests.py, then pasted here.
/// An expected error records only the kind, mapped from the Python exception type.
struct EngineCase: CustomStringConvertible, Sendable {
    enum Expected: Sendable {
        case output(String)
        case error(ChatTemplateError.Kind)
    }

    let name: String
    let template: String
    let variables: String
    let expected: Expected

    init(_ name: String, _ template: String, variables: String, expected: Expected) {
        self.name = name
        self.template = template
        self.variables = variables
        self.expected = expected
    }

    var description: String { name }

    static let all: [EngineCase] = [
        EngineCase(
            "trim_blocks", "{% if true %}\nyes\n{% endif %}\nend",
            variables: "{}",
            expected: .output("yes\nend")),
        EngineCase(
            "trim_blocks_only_one_newline", "{% if true %}\n\nyes{% endif %}",
            variables: "{}",
            expected: .output("\nyes")),
        EngineCase(
            "lstrip_blocks", "a\n    {% if true %}\n    x\n    {% endif %}\nb",
            variables: "{}",
            expected: .output("a\n    x\nb")),
        EngineCase(
            "lstrip_not_variables", "a\n    {{ 'x' }}\nb",
            variables: "{}",
            expected: .output("a\n    x\nb")),
        EngineCase(
            "lstrip_text_before", "a  {% if true %}x{% endif %}",
            variables: "{}",
            expected: .output("a  x")),
        EngineCase(
            "minus_left", "a  \n  {%- if true %}x{% endif %}",
            variables: "{}",
            expected: .output("ax")),
        EngineCase(
            "minus_right", "{% if true -%}  \n\n  x{% endif %}",
            variables: "{}",
            expected: .output("x")),
        EngineCase(
            "var_minus", "a \n {{- 'x' -}} \n b",
            variables: "{}",
            expected: .output("axb")),
        EngineCase(
            "comment_trim", "a\n  {# c #}\nb {#- c -#} c",
            variables: "{}",
            expected: .output("a\nbc")),
        EngineCase(
            "plus_disables_lstrip", "a\n    {%+ if true %}x{% endif %}",
            variables: "{}",
            expected: .output("a\n    x")),
        EngineCase(
            "plus_disables_trim", "{% if true +%}\nx{% endif %}",
            variables: "{}",
            expected: .output("\nx")),
        EngineCase(
            "trailing_newline_dropped", "x\n",
            variables: "{}",
            expected: .output("x")),
        EngineCase(
            "only_one_trailing_newline", "x\n\n",
            variables: "{}",
            expected: .output("x\n")),
        EngineCase(
            "crlf", "a\r\nb\r\n{% if true %}\r\nc{% endif %}",
            variables: "{}",
            expected: .output("a\nb\nc")),
        EngineCase(
            "lstrip_after_tag_newline", "{% if true %}\n  {% if true %}x{% endif %}\n{% endif %}",
            variables: "{}",
            expected: .output("x")),
        EngineCase(
            "lstrip_no_newline_after_var", "{{ 'a' }}  {% if true %}x{% endif %}",
            variables: "{}",
            expected: .output("a  x")),
        EngineCase(
            "lstrip_start_of_template", "   {% if true %}x{% endif %}",
            variables: "{}",
            expected: .output("x")),
        EngineCase(
            "raw", "{% raw %}{{ x }}{% endraw %}",
            variables: "{}",
            expected: .output("{{ x }}")),
        EngineCase(
            "nbsp_minus", "a\u{a0}{{- 'b' }}",
            variables: "{}",
            expected: .output("ab")),
        EngineCase(
            "print_values",
            "{{ none }}|{{ None }}|{{ true }}|{{ False }}|{{ 1.0 }}|{{ 1e-7 }}|{{ 1e16 }}|{{ 1234567890123456.0 }}|{{ 0.1 + 0.2 }}",
            variables: "{}",
            expected: .output("None|None|True|False|1.0|1e-07|1e+16|1234567890123456.0|0.30000000000000004")),
        EngineCase(
            "print_list_repr", "{{ ['a', \"it's\", 1, 2.5, none, true, {'k': 'v'}, ('t',)] }}",
            variables: "{}",
            expected: .output("['a', \"it's\", 1, 2.5, None, True, {'k': 'v'}, ('t',)]")),
        EngineCase(
            "print_dict_repr", "{{ {'a': 1, 'b': [1, 2]} }}",
            variables: "{}",
            expected: .output("{'a': 1, 'b': [1, 2]}")),
        EngineCase(
            "print_tuple", "{{ (1, 'a') }}{{ () }}",
            variables: "{}",
            expected: .output("(1, 'a')()")),
        EngineCase(
            "repr_escapes", "{{ ['a\\nb', 'tab\\t', 'q\"\\'', '\\u2028', '\\x01', 'é'] }}",
            variables: "{}",
            expected: .output("['a\\nb', 'tab\\t', 'q\"\\'', '\\u2028', '\\x01', 'é']")),
        EngineCase(
            "string_escapes", "{{ 'a\\tb\\\\c\\x41\\u00e9\\d' }}",
            variables: "{}",
            expected: .output("a\tb\\cAé\\d")),
        EngineCase(
            "adjacent_strings", "{{ 'a' \"b\" 'c' }}",
            variables: "{}",
            expected: .output("abc")),
        EngineCase(
            "int_float",
            "{{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 7.5 // 2 }} {{ 4 / 2 }} {{ 1_000 }}",
            variables: "{}",
            expected: .output("3 -4 2 3.5 1024 3.0 2.0 1000")),
        EngineCase(
            "concat_tilde", "{{ 'a' ~ 1 ~ none ~ true ~ [1] }}",
            variables: "{}",
            expected: .output("a1NoneTrue[1]")),
        EngineCase(
            "string_repeat", "{{ '=' * 3 }}{{ 2 * 'ab' }}{{ 'x' * -1 }}|{{ [1] * 2 }}",
            variables: "{}",
            expected: .output("===abab|[1, 1]")),
        EngineCase(
            "list_concat", "{{ [1] + [2] }}",
            variables: "{}",
            expected: .output("[1, 2]")),
        EngineCase(
            "equality",
            "{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' == 'a' }} {{ [1] == [1.0] }} {{ none == none }} {{ x == y }} {{ (1,) == [1] }}",
            variables: "{}",
            expected: .output("True True True True True True False")),
        EngineCase(
            "comparisons",
            "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 2 >= 2 }} {{ 1 <= 0 }}",
            variables: "{}",
            expected: .output("True False True True True False")),
        EngineCase(
            "in_operator",
            "{{ 'a' in 'abc' }} {{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'x' not in 'abc' }} {{ 'a' in undefined_var }}",
            variables: "{}",
            expected: .output("True True True True False")),
        EngineCase(
            "and_or_operands", "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }} {{ none or [] }} {{ not 0 }}",
            variables: "{}",
            expected: .output("x b  [] True")),
        EngineCase(
            "truthiness", "{% for v in [0, 0.0, '', [], {}, none, '0', [0], 1] %}{{ 'T' if v else 'F' }}{% endfor %}",
            variables: "{}",
            expected: .output("FFFFFFTTT")),
        EngineCase(
            "inline_if_no_else", "[{{ 'x' if false }}]",
            variables: "{}",
            expected: .output("[]")),
        EngineCase(
            "precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 + 3 ~ 4 }} {{ not true == false }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "unary_minus_filter", "{{ -3|abs }} {{ -(3|abs) }}",
            variables: "{}",
            expected: .output("3 -3")),
        EngineCase(
            "negative_index", "{{ xs[-1] }} {{ xs[0] }} {{ xs[5] }}|{{ 'abc'[-1] }}",
            variables: "{\"xs\": [1, 2, 3]}",
            expected: .output("3 1 |c")),
        EngineCase(
            "slices",
            "{{ xs[1:] }} {{ xs[:-1] }} {{ xs[::-1] }} {{ xs[::2] }} {{ xs[-2:] }} {{ xs[5:] }} {{ 'héllo'[1:3] }} {{ 'abc'[::-1] }}",
            variables: "{\"xs\": [1, 2, 3, 4]}",
            expected: .output("[2, 3, 4] [1, 2, 3] [4, 3, 2, 1] [1, 3] [3, 4] [] él cba")),
        EngineCase(
            "dot_number", "{{ xs.0 }}",
            variables: "{\"xs\": [\"a\"]}",
            expected: .output("a")),
        EngineCase(
            "unicode_len", "{{ 'é'|length }} {{ '😀a'|length }} {{ '\r\n'|length }} {{ 'ab😀'[2] }}",
            variables: "{}",
            expected: .output("2 2 1 😀")),
        EngineCase(
            "none_attr", "[{{ none.x }}]",
            variables: "{}",
            expected: .output("[]")),
        EngineCase(
            "none_attr_attr", "{{ none.x.y }}",
            variables: "{}",
            expected: .error(.undefined)),
        EngineCase(
            "undefined_attr", "{{ nope.x }}",
            variables: "{}",
            expected: .error(.undefined)),
        EngineCase(
            "undefined_print",
            "[{{ nope }}][{{ nope|length }}][{% for x in nope %}x{% endfor %}][{{ nope is defined }}][{{ nope is none }}][{{ nope|default('d') }}]",
            variables: "{}",
            expected: .output("[][0][][False][False][d]")),
        EngineCase(
            "undefined_add", "{{ nope + 1 }}",
            variables: "{}",
            expected: .error(.undefined)),
        EngineCase(
            "undefined_eq", "{{ nope == nope2 }} {{ nope == none }}",
            variables: "{}",
            expected: .output("True False")),
        EngineCase(
            "undefined_concat", "{{ nope ~ 'x' }}",
            variables: "{}",
            expected: .output("x")),
        EngineCase(
            "undefined_tojson", "{{ nope|tojson }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "missing_key", "[{{ d.missing }}][{{ d['missing'] }}]",
            variables: "{\"d\": {\"a\": 1}}",
            expected: .output("[][]")),
        EngineCase(
            "missing_key_attr", "{{ d.missing.x }}",
            variables: "{\"d\": {\"a\": 1}}",
            expected: .error(.undefined)),
        EngineCase(
            "underscore_attr", "[{{ d._x }}]",
            variables: "{\"d\": {\"_x\": 1}}",
            expected: .output("[1]")),
        EngineCase(
            "underscore_item", "[{{ d['_x'] }}]",
            variables: "{\"d\": {\"_x\": 1}}",
            expected: .output("[1]")),
        EngineCase(
            "for_tuple", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
            variables: "{\"d\": {\"b\": 1, \"a\": 2}}",
            expected: .output("b=1;a=2;")),
        EngineCase(
            "for_if_loop",
            "{% for x in xs if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }}{{ ',' if not loop.last }}{% endfor %}",
            variables: "{\"xs\": [1, 2, 3, 4]}",
            expected: .output("1/3:2,2/3:3,3/3:4")),
        EngineCase(
            "loop_vars",
            "{% for x in 'abc' %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.previtem }}{{ loop.nextitem }}{{ loop.cycle('o', 'e') }} {% endfor %}",
            variables: "{}",
            expected: .output("032Truebo 121Falseace 210Falsebo ")),
        EngineCase(
            "loop_else", "{% for x in [] %}x{% else %}empty{% endfor %}",
            variables: "{}",
            expected: .output("empty")),
        EngineCase(
            "break_continue",
            "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}",
            variables: "{}",
            expected: .output("0134")),
        EngineCase(
            "set_scope", "{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}",
            variables: "{}",
            expected: .output("231")),
        EngineCase(
            "namespace",
            "{% set ns = namespace(x=0, found=false) %}{% for i in [1, 2, 3] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }} {{ ns.found }}",
            variables: "{}",
            expected: .output("6 False")),
        EngineCase(
            "set_block", "{% set x %}  a {{ 1 }} {% endset %}[{{ x }}]",
            variables: "{}",
            expected: .output("[  a 1 ]")),
        EngineCase(
            "set_block_filter", "{% set x | upper %}abc{% endset %}{{ x }}",
            variables: "{}",
            expected: .output("ABC")),
        EngineCase(
            "set_tuple", "{% set a, b = [1, 2] %}{{ b }}{{ a }}",
            variables: "{}",
            expected: .output("21")),
        EngineCase(
            "macro_defaults",
            "{% macro m(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, 2) }}|{{ m(1, c=3) }}",
            variables: "{}",
            expected: .output("1BNone|12None|1B3")),
        EngineCase(
            "macro_recursion", "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}",
            variables: "{}",
            expected: .output("321")),
        EngineCase(
            "macro_scope",
            "{% set g = 'G' %}{% macro m() %}{{ g }}{{ x }}{% endmacro %}{% for x in [1] %}{{ m() }}{% endfor %}",
            variables: "{}",
            expected: .output("G")),
        EngineCase(
            "macro_varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}",
            variables: "{}",
            expected: .output("1(2, 3){'k': 4}")),
        EngineCase(
            "macro_too_many", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "call_block", "{% macro m(x) %}<{{ caller(x) }}>{% endmacro %}{% call(y) m(5) %}got {{ y }}{% endcall %}",
            variables: "{}",
            expected: .output("<got 5>")),
        EngineCase(
            "filter_block", "{% filter trim %}   hi   {% endfilter %}|{% filter upper|trim %} a {% endfilter %}",
            variables: "{}",
            expected: .output("hi|A")),
        EngineCase(
            "generation", "{% generation %}body{% endgeneration %}",
            variables: "{}",
            expected: .output("body")),
        EngineCase(
            "with", "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]",
            variables: "{}",
            expected: .output("3[]")),
        EngineCase(
            "elif",
            "{% for x in [1, 2, 3] %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}{% endfor %}",
            variables: "{}",
            expected: .output("onetwomany")),
        EngineCase(
            "f_trim", "[{{ '  a \\u00a0\\u2028'|trim }}][{{ 'xxaxx'|trim('x') }}]",
            variables: "{}",
            expected: .output("[a][a]")),
        EngineCase(
            "f_default", "{{ none|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ nope|d('x') }}",
            variables: "{}",
            expected: .output("None  d x")),
        EngineCase(
            "f_length", "{{ [1, 2]|length }} {{ 'abc'|count }} {{ {'a': 1}|length }}",
            variables: "{}",
            expected: .output("2 3 1")),
        EngineCase(
            "f_string", "{{ 1|string }}{{ none|string }}{{ [1]|string }}",
            variables: "{}",
            expected: .output("1None[1]")),
        EngineCase(
            "f_join", "{{ [1, 'a', none]|join(', ') }}|{{ users|join(',', attribute='n') }}",
            variables: "{\"users\": [{\"n\": \"x\"}, {\"n\": \"y\"}]}",
            expected: .output("1, a, None|x,y")),
        EngineCase(
            "f_items", "{% for k, v in {'a': 1, 'b': 2}|items %}{{ k }}{{ v }}{% endfor %}",
            variables: "{}",
            expected: .output("a1b2")),
        EngineCase(
            "f_list", "{{ 'ab'|list }} {{ {'a': 1}|list }}",
            variables: "{}",
            expected: .output("['a', 'b'] ['a']")),
        EngineCase(
            "f_safe", "{{ 'a<b'|safe }}|{{ ('<' | safe) + '<' }}|{{ '<' + ('<' | safe) }}",
            variables: "{}",
            expected: .output("a<b|<&lt;|&lt;<")),
        EngineCase(
            "f_safe_json", "{{ ('x' | safe) + {'a': '\"'}|tojson }}",
            variables: "{}",
            expected: .output("x{&#34;a&#34;: &#34;\\&#34;&#34;}")),
        EngineCase(
            "f_selectattr",
            "{{ xs|selectattr('t', 'equalto', 'a')|map(attribute='v')|list }} {{ xs|rejectattr('t', 'equalto', 'a')|list|length }} {{ xs|selectattr('v')|list|length }}",
            variables: "{\"xs\": [{\"t\": \"a\", \"v\": 1}, {\"t\": \"b\", \"v\": 0}, {\"t\": \"a\", \"v\": 3}]}",
            expected: .output("[1, 3] 1 2")),
        EngineCase(
            "f_select",
            "{{ [1, 2, 3, 4]|select('odd')|list }} {{ [0, 1, '']|select|list }} {{ [1, 2, 3]|reject('gt', 1)|list }}",
            variables: "{}",
            expected: .output("[1, 3] [1] [1]")),
        EngineCase(
            "f_map", "{{ ['a', 'b']|map('upper')|join }} {{ xs|map(attribute='k', default='?')|list }}",
            variables: "{\"xs\": [{\"k\": 1}, {}]}",
            expected: .output("AB [1, '?']")),
        EngineCase(
            "f_dictsort",
            "{{ {'b': 1, 'A': 2, 'c': 0}|dictsort }} {{ {'b': 1, 'A': 2}|dictsort(true) }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }}",
            variables: "{}",
            expected: .output("[('A', 2), ('b', 1), ('c', 0)] [('A', 2), ('b', 1)] [('b', 1), ('a', 2)]")),
        EngineCase(
            "f_sort",
            "{{ ['b', 'A', 'c']|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ xs|sort(attribute='n')|map(attribute='n')|list }}",
            variables: "{\"xs\": [{\"n\": 2}, {\"n\": 1}]}",
            expected: .output("['A', 'b', 'c'] [3, 2, 1] [1, 2]")),
        EngineCase(
            "f_unique_min_max",
            "{{ ['a', 'A', 'b']|unique|list }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} {{ ['B', 'a']|min }}",
            variables: "{}",
            expected: .output("['a', 'b'] 1 3 a")),
        EngineCase(
            "f_case",
            "{{ 'straße'|upper }} {{ 'ÀB'|lower }} {{ 'hello world'|title }} {{ 'hELLO'|capitalize }} {{ \"they're\"|title }}",
            variables: "{}",
            expected: .output("STRASSE àb Hello World Hello They're")),
        EngineCase(
            "f_replace", "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'ab'|replace('', '-') }}",
            variables: "{}",
            expected: .output("bbb bba -a-b-")),
        EngineCase(
            "f_indent",
            "[{{ 'a\\nb\\n\\nc'|indent(2) }}][{{ 'a\\nb'|indent(2, true) }}][{{ 'a\\n\\nb'|indent(2, blank=true) }}][{{ 'a\\nb'|indent('> ') }}]",
            variables: "{}",
            expected: .output("[a\n  b\n\n  c][  a\n  b][a\n  \n  b][a\n> b]")),
        EngineCase(
            "f_int_float",
            "{{ '3.7'|int }} {{ 'junk'|int }} {{ '42'|int }} {{ 3.9|int }} {{ '0x1A'|int(0, 16) }} {{ '2.5'|float }} {{ 'x'|float }} {{ 3|float }}",
            variables: "{}",
            expected: .output("3 0 42 3 26 2.5 0.0 3.0")),
        EngineCase(
            "f_first_last", "{{ [1, 2]|first }} {{ [1, 2]|last }} {{ 'abc'|first }} [{{ []|first }}]",
            variables: "{}",
            expected: .output("1 2 a []")),
        EngineCase(
            "f_reverse", "{{ 'abc'|reverse }} {{ [1, 2]|reverse|list }}",
            variables: "{}",
            expected: .output("cba [2, 1]")),
        EngineCase(
            "f_sum_abs_round",
            "{{ [1, 2, 3]|sum }} {{ xs|sum(attribute='v') }} {{ -2|abs }} {{ 2.5|round }} {{ 3.14159|round(2) }} {{ 2.1|round(0, 'ceil') }}",
            variables: "{\"xs\": [{\"v\": 1.5}, {\"v\": 2}]}",
            expected: .output("6 3.5 2 2.0 3.14 3.0")),
        EngineCase(
            "f_center_wordcount", "[{{ 'ab'|center(7) }}] {{ 'hello big world'|wordcount }}",
            variables: "{}",
            expected: .output("[   ab  ] 3")),
        EngineCase(
            "f_batch", "{{ [1, 2, 3]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }}",
            variables: "{}",
            expected: .output("[[1, 2], [3]] [[1, 2], [3, 0]]")),
        EngineCase(
            "f_attr", "{{ d|attr('k') }}",
            variables: "{\"d\": {\"k\": 1}}",
            expected: .output("")),
        EngineCase(
            "f_format", "{{ '%s-%d'|format('a', 3) }} {{ '%05.1f'|format(2.25) }}",
            variables: "{}",
            expected: .output("a-3 002.2")),
        EngineCase(
            "f_escape", "{{ '<a href=\"x\">&\\''|e }}",
            variables: "{}",
            expected: .output("&lt;a href=&#34;x&#34;&gt;&amp;&#39;")),
        EngineCase(
            "f_tojson",
            "{{ d|tojson }}|{{ d|tojson(indent=2) }}|{{ d|tojson(ensure_ascii=true) }}|{{ d|tojson(sort_keys=true, separators=(',', ':')) }}",
            variables:
                "{\"d\": {\"b\": [1, 2.0, 1e-07, null, true, {}], \"a\": \"é😀\u{2028}\\\"\\\\/\\n\\u0001\", \"c\": []}}",
            expected: .output(
                "{\"b\": [1, 2.0, 1e-07, null, true, {}], \"a\": \"é😀\u{2028}\\\"\\\\/\\n\\u0001\", \"c\": []}|{\n  \"b\": [\n    1,\n    2.0,\n    1e-07,\n    null,\n    true,\n    {}\n  ],\n  \"a\": \"é😀\u{2028}\\\"\\\\/\\n\\u0001\",\n  \"c\": []\n}|{\"b\": [1, 2.0, 1e-07, null, true, {}], \"a\": \"\\u00e9\\ud83d\\ude00\\u2028\\\"\\\\/\\n\\u0001\", \"c\": []}|{\"a\":\"é😀\u{2028}\\\"\\\\/\\n\\u0001\",\"b\":[1,2.0,1e-07,null,true,{}],\"c\":[]}"
            )),
        EngineCase(
            "f_tojson_indent_str", "{{ [1, [2]]|tojson(indent='\\t') }}",
            variables: "{}",
            expected: .output("[\n\t1,\n\t[\n\t\t2\n\t]\n]")),
        EngineCase(
            "f_tojson_generator", "{{ [1]|map('string')|tojson }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "f_tojson_tuple_keys", "{{ {1: 'a', none: 'b', 2.5: 'c', true: 'd'}|tojson }}",
            variables: "{}",
            expected: .output("{\"1\": \"d\", \"null\": \"b\", \"2.5\": \"c\"}")),
        EngineCase(
            "f_groupby", "{% for g, items in xs|groupby('k') %}{{ g }}:{{ items|length }};{% endfor %}",
            variables: "{\"xs\": [{\"k\": \"b\"}, {\"k\": \"a\"}, {\"k\": \"b\"}]}",
            expected: .output("a:1;b:2;")),
        EngineCase(
            "tests_types",
            "{{ 'a' is string }}{{ 1 is number }}{{ true is number }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ {} is mapping }}{{ [] is sequence }}{{ 'a' is sequence }}{{ {} is sequence }}{{ nope is sequence }}{{ nope is iterable }}{{ 1 is iterable }}",
            variables: "{}",
            expected: .output("TrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueFalse")),
        EngineCase(
            "tests_values",
            "{{ none is none }}{{ false is false }}{{ 0 is false }}{{ true is true }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 2 is eq 2 }}{{ 'a' is in 'abc' }}{{ 'x' is lower }}{{ 'X' is upper }}{{ none is sameas none }}",
            variables: "{}",
            expected: .output("TrueTrueFalseTrueTrueTrueTrueTrueTrueTrueTrueTrue")),
        EngineCase(
            "tests_compare",
            "{{ 2 is gt 1 }}{{ 2 is ge 2 }}{{ 1 is lt 2 }}{{ 1 is le 0 }}{{ 1 is ne 1 }}{{ 1 is == 1 }}",
            variables: "{}",
            expected: .error(.syntax)),
        EngineCase(
            "is_not", "{{ none is not none }}{{ x is not defined }}{{ 'a' is not string }}",
            variables: "{}",
            expected: .output("FalseTrueFalse")),
        EngineCase(
            "test_filter_defined", "{{ 'upper' is filter }}{{ 'nope' is filter }}{{ 'odd' is test }}",
            variables: "{}",
            expected: .output("TrueFalseTrue")),
        EngineCase(
            "m_split",
            "{{ ' a  b '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a\\r\\nb'.split('\\n') }} {{ 'a b c'.rsplit(' ', 1) }}",
            variables: "{}",
            expected: .output("['a', 'b'] ['a', 'b', '', 'c'] ['a', 'b,c'] ['a\\r', 'b'] ['a b', 'c']")),
        EngineCase(
            "m_strip",
            "[{{ ' x '.strip() }}][{{ ' x '.lstrip() }}][{{ ' x '.rstrip() }}][{{ 'xyx'.strip('x') }}][{{ '\\n\\nx\\n'.lstrip('\\n') }}]",
            variables: "{}",
            expected: .output("[x][x ][ x][y][x\n]")),
        EngineCase(
            "m_starts_ends",
            "{{ 'hello'.startswith('he') }}{{ 'hello'.endswith(('x', 'lo')) }}{{ 'hello'.startswith('l', 2) }}",
            variables: "{}",
            expected: .output("TrueTrueTrue")),
        EngineCase(
            "m_misc",
            "{{ 'a-b'.replace('-', '+') }} {{ 'ab'.upper() }} {{ 'AB'.lower() }} {{ 'abcb'.find('b') }} {{ 'abcb'.rfind('b') }} {{ 'abcb'.count('b') }} {{ ', '.join(['x', 'y']) }} {{ '12'.isdigit() }} {{ 'a\\nb'.splitlines() }} {{ 'hi {}!'.format('you') }} {{ '{0}{name}'.format(1, name='n') }}",
            variables: "{}",
            expected: .output("a+b AB ab 1 3 2 x, y True ['a', 'b'] hi you! 1n")),
        EngineCase(
            "m_dict",
            "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 5) }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }}",
            variables: "{\"d\": {\"a\": 1, \"b\": 2}}",
            expected: .output("1 None 5 ['a', 'b'] [1, 2] [('a', 1), ('b', 2)]")),
        EngineCase(
            "m_items_print", "{{ d.items() }}",
            variables: "{\"d\": {\"a\": 1}}",
            expected: .output("dict_items([('a', 1)])")),
        EngineCase(
            "m_list", "{{ [1, 2, 1].count(1) }} {{ [1, 2].index(2) }}",
            variables: "{}",
            expected: .output("2 1")),
        EngineCase(
            "append_refused", "{% set xs = [1] %}{{ xs.append(2) }}",
            variables: "{}",
            expected: .error(.security)),
        EngineCase(
            "pop_refused", "{{ d.pop('a') }}",
            variables: "{\"d\": {\"a\": 1}}",
            expected: .error(.security)),
        EngineCase(
            "update_refused", "{{ d.update({'b': 2}) }}",
            variables: "{\"d\": {\"a\": 1}}",
            expected: .error(.security)),
        EngineCase(
            "append_print_empty", "[{{ [1].append }}]",
            variables: "{}",
            expected: .output("[]")),
        EngineCase(
            "percent_format", "{{ '%s and %s' % ('a', 'b') }} {{ '%d%%' % 50 }} {{ '%(x)s' % {'x': 1} }}",
            variables: "{}",
            expected: .output("a and b 50% 1")),
        EngineCase(
            "range", "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(5, 0, -2)|list }}",
            variables: "{}",
            expected: .output("[0, 1, 2] [1, 3, 5] [5, 3, 1]")),
        EngineCase(
            "range_too_big", "{{ range(100001)|length }}",
            variables: "{}",
            expected: .error(.limit)),
        EngineCase(
            "raise", "{{ raise_exception('Bad role: ' ~ 'x') }}",
            variables: "{}",
            expected: .error(.raised)),
        EngineCase(
            "strftime",
            "{{ strftime_now('%Y-%m-%d') }} {{ strftime_now('%d %b %Y') }} {{ strftime_now('%B %d, %Y') }} {{ strftime_now('%H:%M:%S %A %a %j %p %I') }}",
            variables: "{}",
            expected: .output("2025-03-07 07 Mar 2025 March 07, 2025 09:05:03 Friday Fri 066 AM 09")),
        EngineCase(
            "dict_global", "{{ dict(a=1, b='x') }}",
            variables: "{}",
            expected: .output("{'a': 1, 'b': 'x'}")),
        EngineCase(
            "cycler_joiner",
            "{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{% set j = joiner('|') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}",
            variables: "{}",
            expected: .output("aba1|2|3")),
        EngineCase(
            "err_str_plus_int", "{{ 'a' + 1 }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_int_plus_str", "{{ 1 + 'a' }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_str_plus_list", "{{ 'a' + [1] }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_iterate_none", "{% for x in none %}{% endfor %}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_unknown_filter", "{{ x|from_json }}",
            variables: "{}",
            expected: .error(.unknownFilter)),
        EngineCase(
            "err_unknown_filter_in_if_not_run", "{% if false %}{{ x|from_json }}{% endif %}ok",
            variables: "{}",
            expected: .output("ok")),
        EngineCase(
            "err_unknown_filter_in_if_run", "{% if true %}{{ x|from_json }}{% endif %}ok",
            variables: "{}",
            expected: .error(.unknownFilter)),
        EngineCase(
            "err_unknown_filter_inline_if", "{{ x|from_json if false else 'ok' }}",
            variables: "{}",
            expected: .output("ok")),
        EngineCase(
            "err_unknown_filter_in_for_in_if",
            "{% if false %}{% for x in [] %}{{ x|from_json }}{% endfor %}{% endif %}",
            variables: "{}",
            expected: .error(.unknownFilter)),
        EngineCase(
            "err_unknown_test", "{{ x is foo }}",
            variables: "{}",
            expected: .error(.unknownTest)),
        EngineCase(
            "err_unknown_test_in_if", "{% if false %}{{ x is foo }}{% endif %}ok",
            variables: "{}",
            expected: .output("ok")),
        EngineCase(
            "err_syntax_endfor", "{% if true %}\n{% endfor %}",
            variables: "{}",
            expected: .error(.syntax)),
        EngineCase(
            "err_syntax_missing_end", "{% for x in y %}",
            variables: "{}",
            expected: .error(.syntax)),
        EngineCase(
            "err_unknown_tag", "{% foo %}",
            variables: "{}",
            expected: .error(.syntax)),
        EngineCase(
            "err_div_zero", "{{ 1 / 0 }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_compare", "{{ 1 < 'a' }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_call_undefined", "{{ nope() }}",
            variables: "{}",
            expected: .error(.undefined)),
        EngineCase(
            "err_unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_tojson_namespace", "{{ namespace(a=1)|tojson }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_length_generator", "{{ [1]|map('string')|length }}",
            variables: "{}",
            expected: .error(.type)),
        EngineCase(
            "err_do_tag", "{% do x %}",
            variables: "{}",
            expected: .error(.syntax)),
        EngineCase(
            "err_string_method_on_list", "{{ xs.strip() }}",
            variables: "{\"xs\": [1]}",
            expected: .error(.undefined)),
        EngineCase(
            "err_items_on_list", "{% for a in [1]|items %}{% endfor %}",
            variables: "{}",
            expected: .error(.type))
    ]
}

@Suite("Engine cases checked against jinja2")
struct EngineCaseTests {
    static var frozenOptions: RenderOptions {
        var components = DateComponents(year: 2025, month: 3, day: 7, hour: 9, minute: 5, second: 3)
        components.timeZone = .current
        return RenderOptions(now: Calendar(identifier: .gregorian).date(from: components)!)
    }

    @Test("renders like jinja2", arguments: EngineCase.all)
    func rendersLikeJinja(_ testCase: EngineCase) throws {
        let variables = try JSONParser.parse(Data(testCase.variables.utf8)).objectMembers ?? []
        let result: Result<String, ChatTemplateError>
        do {
            let template = try ChatTemplate(testCase.template, origin: testCase.name)
            result = .success(
                try template.render(variables: variables.map { ($0.key, $0.value) }, options: Self.frozenOptions))
        } catch {
            result = .failure(error)
        }
        switch (testCase.expected, result) {
        case (.output(let expected), .success(let actual)):
            #expect(Array(actual.unicodeScalars) == Array(expected.unicodeScalars), "\(testCase.name)")
        case (.error(let kind), .failure(let error)):
            #expect(error.kind == kind, "\(testCase.name): \(error)")
        case (.output(let expected), .failure(let error)):
            Issue.record("\(testCase.name): expected \(expected.debugDescription), got error \(error)")
        case (.error(let kind), .success(let actual)):
            Issue.record("\(testCase.name): expected a \(kind) error, got \(actual.debugDescription)")
        }
    }
}
