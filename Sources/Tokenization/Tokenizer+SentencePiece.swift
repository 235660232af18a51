import JSON

extension Tokenizer {
    /// A tokenizer from a SentencePiece `tokenizer.model` alone, encoding as `SentencePieceProcessor.encode`
    /// does: the normalizer's dummy prefix and whitespace handling, user-defined pieces matched as a whole,
    /// then BPE (score-ranked merges) or Unigram (Viterbi), with byte fallback. Control pieces in the text are
    /// plain text, as in SentencePiece. `addSpecialTokens` adds BOS unless `tokenizer_config.json` sets
    /// `add_bos_token: false`, and EOS if it sets `add_eos_token: true` (the Llama tokenizer defaults).
    ///
    /// The normalization rule is applied as `identity`, or as Unicode NFKC for `nmt_nfkc`-style rules (the
    /// precompiled character map itself is not interpreted).
    init(sentencePiece proto: SentencePieceModel, files: TokenizerFiles) throws(TokenizationError) {
        let path = files.path("tokenizer.model")
        var pieces: [String] = []
        var vocab = ByteTable(capacity: proto.pieces.count)
        var scores: [Float] = []
        var userDefined: [AddedTokenMatcher.Token] = []
        var special: Set<Int> = []
        var unknown: Int32?
        var maxBytes = 1
        for (id, piece) in proto.pieces.enumerated() {
            pieces.append(piece.piece)
            scores.append(piece.score)
            switch piece.type {
            case .normal?, .userDefined?:
                vocab.insert(Array(piece.piece.utf8), Int32(id))
                maxBytes = max(maxBytes, piece.piece.utf8.count)
                if piece.type == .userDefined {
                    userDefined.append(.init(content: piece.piece.unicodeScalars.map(\.value), id: id))
                }
            case .unknown?:
                if unknown == nil { unknown = Int32(id) }
                special.insert(id)
            case .control?:
                special.insert(id)
            default:
                break
            }
        }
        let fallback = byteFallbackIDs { text in
            proto.pieces.firstIndex { $0.type == .byte && $0.piece == text }.map { Int32($0) }
        }
        let model: Model
        switch proto.modelType {
        case 1:
            let minScore =
                proto.pieces.enumerated().filter { $0.element.type == .normal }.map(\.element.score).min() ?? 0
            guard let unknown else {
                throw .corruptSentencePieceModel(path: path, offset: 0, reason: "no unknown piece")
            }
            model = .unigram(
                UnigramModel(
                    vocab: vocab, scores: scores, maxPieceBytes: maxBytes, unknownID: unknown,
                    unknownScore: minScore - 10, byteFallback: proto.byteFallback, fallbackIDs: fallback,
                    fuseUnknown: true))
        case 2:
            model = .scoreBPE(
                ScoreBPEModel(
                    vocab: vocab, scores: scores, fallbackIDs: fallback, byteFallback: proto.byteFallback,
                    unknownID: unknown))
        default:
            let name = proto.modelType == 3 ? "WORD" : proto.modelType == 4 ? "CHAR" : "type \(proto.modelType)"
            throw .unsupportedModelType(path: path, found: "SentencePiece \(name)", expected: "BPE or UNIGRAM")
        }

        let specialVocabulary = try? SpecialVocabulary(files: files, nVocab: pieces.count)
        func id(_ type: String, _ fallbackText: String) -> Int? {
            specialVocabulary?.specialTokenIDs.first { $0.type == type }?.id ?? pieces.firstIndex(of: fallbackText)
        }
        func flag(_ type: String) -> Bool? { specialVocabulary?.addSpecialToken.first { $0.type == type }?.value }
        let bos = id("bos", "<s>")
        let eos = id("eos", "</s>")
        let normalizerName = proto.normalizerName ?? ""
        let replaceSpaces: JSONValue = .object([
            ("type", .string("Replace")), ("pattern", .object([("String", .string("\u{2581}"))])),
            ("content", .string(" "))
        ])
        var decoders: [JSONValue] = [
            replaceSpaces, .object([("type", .string("ByteFallback"))]),
            .object([("type", .string("Fuse"))])
        ]
        if proto.addDummyPrefix {
            decoders.append(
                .object([
                    ("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))
                ]))
        }
        self.init(
            model: model,
            flavor: .sentencePiece(
                addDummyPrefix: proto.addDummyPrefix, removeExtraWhitespaces: proto.removeExtraWhitespaces,
                nfkc: normalizerName.contains("nfkc")),
            pieces: pieces, addedTokens: AddedTokenMatcher(userDefined), normalizedAddedTokens: AddedTokenMatcher([]),
            normalizers: [], preTokenizer: [],
            decoder: .object([("type", .string("Sequence")), ("decoders", .array(decoders))]),
            prefixIDs: (flag("bos") ?? true) ? bos.map { [$0] } ?? [] : [],
            suffixIDs: (flag("eos") ?? false) ? eos.map { [$0] } ?? [] : [],
            specialIDs: special, bosID: bos, eosID: eos)
    }
}
