import FuzzSupport
import JSONRPC
import Testing

struct JSONParserTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var text: String
        var expected: JSONValue?  // nil = must fail
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "empty object", text: "{}", expected: .object([:])),
        Case(name: "nested", text: #"{"a":[1,2.5,"x",true,false,null],"b":{"c":{}}}"#,
             expected: ["a": [1, 2.5, "x", true, false, nil], "b": ["c": .object([:])]]),
        Case(name: "whitespace", text: " \n\t{ \"a\" : 1 } \r\n", expected: ["a": 1]),
        Case(name: "negative and exponent", text: "[-0,-12,1e3,1.5E-2]", expected: [.int(0), -12, 1000.0, 0.015]),
        Case(name: "int64 edge", text: "9223372036854775807", expected: .int(Int64.max)),
        Case(name: "too big for int becomes double", text: "92233720368547758070", expected: .double(92233720368547758070)),
        Case(name: "escapes", text: #""a\"b\\c\/d\b\f\n\r\t""#, expected: .string("a\"b\\c/d\u{8}\u{c}\n\r\t")),
        Case(name: "unicode escape", text: #""\u00e9\u4e2d""#, expected: .string("é中")),
        Case(name: "surrogate pair", text: #""\ud83d\ude00""#, expected: .string("😀")),
        Case(name: "raw utf8", text: "\"héllo\"", expected: .string("héllo")),
        Case(name: "duplicate key, last wins", text: #"{"a":1,"a":2}"#, expected: ["a": 2]),
        Case(name: "truncated object", text: "{\"a\":1", expected: nil),
        Case(name: "trailing comma", text: "[1,2,]", expected: nil),
        Case(name: "trailing garbage", text: "{} x", expected: nil),
        Case(name: "single quotes", text: "{'a':1}", expected: nil),
        Case(name: "leading zero", text: "01", expected: nil),
        Case(name: "bare fraction", text: "1.", expected: nil),
        Case(name: "control char in string", text: "\"a\u{1}b\"", expected: nil),
        Case(name: "lone low surrogate", text: #""\udc00""#, expected: nil),
        Case(name: "unpaired high surrogate", text: #""\ud800x""#, expected: nil),
        Case(name: "bad escape", text: #""\q""#, expected: nil),
        Case(name: "bad literal", text: "tru", expected: nil),
        Case(name: "empty input", text: "", expected: nil),
        Case(name: "NaN", text: "NaN", expected: nil),
        Case(name: "comment", text: "{} // x", expected: nil),
    ]

    @Test(arguments: cases)
    func parse(_ c: Case) {
        let parsed = try? JSONParser.parse(c.text)
        #expect(parsed == c.expected)
    }

    @Test func deepNestingIsRefusedNotCrashing() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONParser.parse(ok)) != nil)
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = [0x22, 0xFF, 0xFE, 0x22]
        #expect(throws: JSONParser.Error.self) { try JSONParser.parse(bytes) }
    }

    @Test(arguments: cases.compactMap(\.expected))
    func roundTrip(_ v: JSONValue) throws {
        let text = JSONWriter.string(v)
        #expect(try JSONParser.parse(text) == v)
    }

    @Test func writerSortsKeysAndEscapes() {
        let v: JSONValue = ["b": 1, "a": "x\n\u{1}\"", "c": [true, nil, 2.5]]
        #expect(JSONWriter.string(v) == #"{"a":"x\n\u0001\"","b":1,"c":[true,null,2.5]}"#)
    }

    /// Random mutations of valid messages: the parser must return or throw,
    /// never trap, and whatever it accepts must print and re-parse to itself.
    @Test func mutatedInputNeverCrashes() throws {
        var rng = SplitMix(seed: 0x7E55E4A)
        let seeds = [
            #"{"jsonrpc":"2.0","id":1,"method":"create","params":{"type":"MediaPipeline"}}"#,
            #"{"jsonrpc":"2.0","method":"onEvent","params":{"value":{"data":{"a":[1,2,{"b":"\u00e9"}]}}}}"#,
            #"[1e10,-0.5,"x\\y",null,true]"#,
        ].map { Array($0.utf8) }
        for i in 0..<20_000 {
            var bytes = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let pos = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[pos] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.remove(at: pos)
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: pos)
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            if let v = try? JSONParser.parse(bytes) {
                #expect(try JSONParser.parse(JSONWriter.string(v)) == v)
            }
        }
    }
}

/// The shared deterministic generator, so fuzz cases are repeatable.
typealias SplitMix = SeededRandom
