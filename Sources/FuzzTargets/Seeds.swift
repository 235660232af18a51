import Conversion
import Foundation
import GGUF
import Quantization
import Safetensors
import Verification

/// Small valid inputs, made with Kiln's own writers, from which the fuzzers start (`kiln-fuzz seeds DIR`
/// writes them; `scripts/fuzz seeds` adds real files from the repository beside them).
public enum Seeds {
    /// The model hash, tokens and context the `logits-cache` target reads with, so that mutations of a valid
    /// cache get past the key check.
    static let modelHash = [UInt8](repeating: 0x5A, count: 32)
    static let cacheTokens: [Int32] = (0..<16).map { Int32($0 % 20) }
    static let cacheContext = 8
    static let cacheVocabulary = 20

    /// The shards the `safetensors-index` target's index points at.
    static let indexShards: [[UInt8]] = [
        SafetensorsWriter.encode([
            .init(name: "model.embed_tokens.weight", dtype: .f32, shape: [2, 2], bytes: floats([1, 2, 3, 4]))
        ]),
        SafetensorsWriter.encode([
            .init(name: "lm_head.weight", dtype: .f16, shape: [2], bytes: [0, 0x3C, 0, 0xC0])
        ])
    ]

    static func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// Every seed, by target and file name.
    public static func all() throws -> [(target: FuzzTarget, name: String, bytes: [UInt8])] {
        var seeds: [(FuzzTarget, String, [UInt8])] = []
        for (name, bytes) in ggufSeeds() { seeds.append((.gguf, name, bytes)) }
        seeds.append(
            (
                .safetensors, "three-dtypes.safetensors",
                SafetensorsWriter.encode(
                    [
                        .init(name: "a", dtype: .f32, shape: [2, 3], bytes: floats([1, 2, 3, 4, 5, 6])),
                        .init(name: "b", dtype: .bf16, shape: [2], bytes: [0x80, 0x3F, 0, 0x40]),
                        .init(name: "c", dtype: .f16, shape: [], bytes: [0, 0x3C])
                    ], metadata: ["format": "pt"])
            ))
        seeds.append((.safetensors, "indexShard.safetensors", indexShards[0]))
        let index = """
            {"metadata": {"total_size": 20}, "weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors", \
            "model.embed_tokens.weight": "model-00001-of-00002.safetensors"}}
            """
        seeds.append((.safetensorsIndex, "index.json", Array(index.utf8)))
        for (name, text) in tokenizerSeeds { seeds.append((.tokenizerJSON, name, Array(text.utf8))) }
        for (name, bytes) in try imatrixSeeds() { seeds.append((.imatrix, name, bytes)) }
        for (name, bytes) in try logitsSeeds() { seeds.append((.logitsCache, name, bytes)) }
        return seeds
    }

    /// A GGUF with a byte-level BPE vocabulary and one with an SPM vocabulary, each with an F32 and a Q8_0
    /// tensor.
    static func ggufSeeds() -> [(String, [UInt8])] {
        let bpe: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("llama.context_length", .uint32(64)),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("smollm")),
            ("tokenizer.ggml.tokens", .array(.string(["<|endoftext|>", "H", "e", "l", "o", "He", "ll", "Ġ", "1"]))),
            ("tokenizer.ggml.token_type", .array(.int32([3, 1, 1, 1, 1, 1, 1, 1, 1]))),
            ("tokenizer.ggml.merges", .array(.string(["H e", "l l"]))),
            ("tokenizer.ggml.bos_token_id", .uint32(0)),
            ("tokenizer.ggml.eos_token_id", .uint32(0))
        ]
        let spm: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .array(.string(["<unk>", "<s>", "</s>", "<0x41>", "▁", "▁H", "i", "▁Hi"]))),
            ("tokenizer.ggml.scores", .array(.float32([0, 0, 0, 0, -1, -2, -3, -1.5]))),
            ("tokenizer.ggml.token_type", .array(.int32([2, 3, 3, 6, 1, 1, 1, 1]))),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.unknown_token_id", .uint32(0))
        ]
        return [("bpe.gguf", gguf(bpe)), ("spm.gguf", gguf(spm))]
    }

    static func gguf(_ pairs: [(String, GGUFValue)]) -> [UInt8] {
        let q8 = [UInt8](repeating: 0, count: 2) + [UInt8]((0..<32).map { UInt8($0) })
        let f32 = floats([0.5, -1, 2, 4])
        let tensors = [
            GGUFTensorInfo(name: "token_embd.weight", dimensions: [2, 2], type: .f32, offset: 0),
            GGUFTensorInfo(name: "output.weight", dimensions: [32, 1], type: .q8_0, offset: 32)
        ]
        var bytes = GGUFWriter.encodeHeader(metadata: GGUFMetadata(pairs), tensors: tensors)
        func pad() { while bytes.count % 32 != 0 { bytes.append(0) } }
        pad()
        bytes += f32
        pad()
        bytes += q8
        return bytes
    }

    static let tokenizerSeeds: [(String, String)] = [
        (
            "bytelevel-bpe.json",
            #"""
            {"version":"1.0","added_tokens":[{"id":0,"content":"<|im_start|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}],
            "normalizer":null,"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Digits","individual_digits":true},{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}]},
            "post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
            "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
            "model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,"fuse_unk":false,"byte_fallback":false,
            "vocab":{"<|im_start|>":0,"H":1,"e":2,"l":3,"o":4,"Ġ":5,"He":6,"ll":7,"Hell":8,"1":9,"2":10},"merges":["H e","l l","He ll"]}}
            """#
        ),
        (
            "metaspace-bytefallback.json",
            #"""
            {"version":"1.0","added_tokens":[{"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},{"id":2,"content":"</s>","special":true}],
            "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
            "pre_tokenizer":null,
            "post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
            "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
            "model":{"type":"BPE","unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,
            "vocab":{"<unk>":0,"<s>":1,"</s>":2,"<0x41>":3,"▁":4,"H":5,"i":6,"▁H":7,"▁Hi":8},"merges":[["▁","H"],["▁H","i"]]}}
            """#
        ),
        (
            "unigram-split.json",
            #"""
            {"version":"1.0","added_tokens":[{"id":0,"content":"<pad>","special":true}],
            "normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"},{"type":"Strip","strip_left":true,"strip_right":false}]},
            "pre_tokenizer":{"type":"Split","pattern":{"String":" "},"behavior":"MergedWithPrevious","invert":false},
            "decoder":{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true},
            "model":{"type":"Unigram","unk_id":1,"byte_fallback":false,"vocab":[["<pad>",0.0],["<unk>",0.0],["h",-2.0],["e",-2.5],["he",-1.0],["llo",-1.5],["l",-3.0],["o",-3.0],[" ",-2.0]]}}
            """#
        ),
        (
            "metaspace-pretokenizer.json",
            #"""
            {"version":"1.0","added_tokens":[],"normalizer":null,
            "pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},
            "decoder":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false},
            "model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"vocab":{"<unk>":0,"▁":1,"a":2,"▁a":3},"merges":["▁ a"]}}
            """#
        )
    ]

    static func imatrixSeeds() throws -> [(String, [UInt8])] {
        var statistics = ImportanceStatistics(chunkSize: 512)
        statistics.entries["blk.0.attn_q.weight"] = .init(sums: [1, 2, 3, 4], counts: [2])
        statistics.entries["blk.0.ffn_up_exps.weight"] = .init(sums: [1, 0.5, 2, 0.25], counts: [3, 0])
        statistics.datasets = ["calibration.txt"]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-seeds-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var seeds: [(String, [UInt8])] = []
        for format in ImportanceStatistics.FileFormat.allCases {
            let url = folder.appendingPathComponent("imatrix.\(format.rawValue)")
            try statistics.write(to: url, format: format)
            seeds.append(("two-entries.\(format.rawValue)", Array(try Data(contentsOf: url))))
        }
        return seeds
    }

    /// Kiln's cache for ``cacheTokens`` and llama-perplexity's `_logits_` file for the same tokens.
    static func logitsSeeds() throws -> [(String, [UInt8])] {
        let chunks = cacheTokens.count / cacheContext
        let scored = cacheContext - 1 - cacheContext / 2
        let slots = LogProbabilityRecord.slots(vocabularySize: cacheVocabulary)
        let records = (0..<(chunks * scored * slots)).map { UInt16(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        let reference = ReferenceLogProbabilities(
            contextLength: cacheContext, vocabularySize: cacheVocabulary, chunkCount: chunks, tokens: cacheTokens,
            records: records)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-seeds-logits-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("reference.logits")
        try LogitsCache.write(reference, modelHash: modelHash, to: url)
        var llama = Array("_logits_".utf8)
        for v in [Int32(cacheContext), Int32(cacheVocabulary), Int32(chunks)] {
            withUnsafeBytes(of: v.littleEndian) { llama += $0 }
        }
        for t in cacheTokens { withUnsafeBytes(of: t.littleEndian) { llama += $0 } }
        for r in records { withUnsafeBytes(of: r.littleEndian) { llama += $0 } }
        return [("kiln-cache.logits", Array(try Data(contentsOf: url))), ("llama-kld-base.bin", llama)]
    }
}
