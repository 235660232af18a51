import Foundation
import JSON
import Testing

/// `JSONValue.dumps` against CPython 3.11's `json.dumps`. Expected strings were printed by python3 with the
/// call shown above each expectation, for the value `v` that `sample` spells out:
/// v = {"b": [1, 2.0, 1e-07, 1e16, 1234567890123456.0, 0.1, -0.0, 5e-324, 1.7976931348623157e308, 123456789.125,
///            None, True, False, {}, []],
///      "a": "é😀\u2028\"\\/\n\r\t\b\f\u0001\u007f", "c": {"nested": [{"x": "y"}]}}
@Suite("Python json.dumps")
struct JSONDumpsTests {
    let sample: JSONValue = .object([
        (
            "b",
            .array([
                .int(1), .double(2.0), .double(1e-07), .double(1e16), .double(1234567890123456.0), .double(0.1),
                .double(-0.0), .double(5e-324), .double(1.7976931348623157e308), .double(123456789.125), .null,
                .bool(true), .bool(false), .object([]), .array([])
            ])
        ),
        ("a", .string("é😀\u{2028}\"\\/\n\r\t\u{8}\u{c}\u{1}\u{7f}")),
        ("c", .object([("nested", .array([.object([("x", .string("y"))])]))]))
    ])

    @Test("matches json.dumps for every option")
    func options() {
        // json.dumps(v)
        #expect(
            sample.dumps()
                == "{\"b\": [1, 2.0, 1e-07, 1e+16, 1234567890123456.0, 0.1, -0.0, 5e-324, 1.7976931348623157e+308, 123456789.125, null, true, false, {}, []], \"a\": \"\\u00e9\\ud83d\\ude00\\u2028\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\\u007f\", \"c\": {\"nested\": [{\"x\": \"y\"}]}}"
        )
        // json.dumps(v, ensure_ascii=False)
        #expect(
            sample.dumps(ensureASCII: false)
                == "{\"b\": [1, 2.0, 1e-07, 1e+16, 1234567890123456.0, 0.1, -0.0, 5e-324, 1.7976931348623157e+308, 123456789.125, null, true, false, {}, []], \"a\": \"é😀\u{2028}\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\u{7f}\", \"c\": {\"nested\": [{\"x\": \"y\"}]}}"
        )
        // json.dumps(v, indent=2)
        #expect(
            sample.dumps(indent: 2)
                == "{\n  \"b\": [\n    1,\n    2.0,\n    1e-07,\n    1e+16,\n    1234567890123456.0,\n    0.1,\n    -0.0,\n    5e-324,\n    1.7976931348623157e+308,\n    123456789.125,\n    null,\n    true,\n    false,\n    {},\n    []\n  ],\n  \"a\": \"\\u00e9\\ud83d\\ude00\\u2028\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\\u007f\",\n  \"c\": {\n    \"nested\": [\n      {\n        \"x\": \"y\"\n      }\n    ]\n  }\n}"
        )
        // json.dumps(v, indent='\t', ensure_ascii=False, sort_keys=True)
        #expect(
            sample.dumps(ensureASCII: false, indent: "\t", sortKeys: true)
                == "{\n\t\"a\": \"é😀\u{2028}\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\u{7f}\",\n\t\"b\": [\n\t\t1,\n\t\t2.0,\n\t\t1e-07,\n\t\t1e+16,\n\t\t1234567890123456.0,\n\t\t0.1,\n\t\t-0.0,\n\t\t5e-324,\n\t\t1.7976931348623157e+308,\n\t\t123456789.125,\n\t\tnull,\n\t\ttrue,\n\t\tfalse,\n\t\t{},\n\t\t[]\n\t],\n\t\"c\": {\n\t\t\"nested\": [\n\t\t\t{\n\t\t\t\t\"x\": \"y\"\n\t\t\t}\n\t\t]\n\t}\n}"
        )
        // json.dumps(v, separators=(',', ':'), sort_keys=True)
        #expect(
            sample.dumps(separators: (",", ":"), sortKeys: true)
                == "{\"a\":\"\\u00e9\\ud83d\\ude00\\u2028\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\\u007f\",\"b\":[1,2.0,1e-07,1e+16,1234567890123456.0,0.1,-0.0,5e-324,1.7976931348623157e+308,123456789.125,null,true,false,{},[]],\"c\":{\"nested\":[{\"x\":\"y\"}]}}"
        )
        // json.dumps(v, indent=0)
        #expect(
            sample.dumps(indent: 0)
                == "{\n\"b\": [\n1,\n2.0,\n1e-07,\n1e+16,\n1234567890123456.0,\n0.1,\n-0.0,\n5e-324,\n1.7976931348623157e+308,\n123456789.125,\nnull,\ntrue,\nfalse,\n{},\n[]\n],\n\"a\": \"\\u00e9\\ud83d\\ude00\\u2028\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\\u007f\",\n\"c\": {\n\"nested\": [\n{\n\"x\": \"y\"\n}\n]\n}\n}"
        )
    }

    @Test("writes NaN and infinities bare")
    func nonFinite() {
        // json.dumps([float("nan"), float("inf"), float("-inf")])
        #expect(
            JSONValue.array([.double(.nan), .double(.infinity), .double(-.infinity)]).dumps()
                == "[NaN, Infinity, -Infinity]")
    }

    @Test("explicit separators keep their spaces when indenting")
    func separatorsWithIndent() {
        // json.dumps({"k": 1, "k2": [1]}, indent=2, separators=(", ", ": "))
        let value = JSONValue.object([("k", .int(1)), ("k2", .array([.int(1)]))])
        #expect(value.dumps(indent: 2, separators: (", ", ": ")) == "{\n  \"k\": 1, \n  \"k2\": [\n    1\n  ]\n}")
    }

    @Test("a repeated key keeps its first position and last value, as json.load then json.dumps")
    func duplicateKeys() {
        // json.dumps(json.loads('{"a": 1, "b": 2, "a": 3}'))
        let value = JSONValue.object([("a", .int(1)), ("b", .int(2)), ("a", .int(3))])
        #expect(value.dumps() == "{\"a\": 3, \"b\": 2}")
    }

    @Test("floats print as Python repr")
    func floatRepr() {
        // repr(f) for each f, in python3
        let cases: [(Double, String)] = [
            (1.0, "1.0"),
            (1e-07, "1e-07"),
            (1e+16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (1e-05, "1e-05"),
            (123.456, "123.456"),
            (1e+22, "1e+22"),
            (2.5e-05, "2.5e-05"),
            (9007199254740992.0, "9007199254740992.0"),
            (1000000000000000.0, "1000000000000000.0"),
            (100.0, "100.0"),
            (3e-310, "3e-310"),
            (-2.5, "-2.5"),
            (0.30000000000000004, "0.30000000000000004")
        ]
        for (value, expected) in cases {
            #expect(PythonFormat.floatRepr(value) == expected)
        }
    }
}
