"""Regenerates the tokenizer-engine fixtures (expected ids from Hugging Face `tokenizers` and `sentencepiece`).
    /work/cache/venv/bin/python make_engine_fixtures.py [smollm2-dir]
Trains small tokenizer.json files (Llama 3 and Qwen2 regexes, a Llama 2 style byte-fallback BPE with a
Prepend/Replace normalizer and a Metaspace variant), then encodes corpus.txt line by line and as a whole with
each tokenizer (including the SmolLM2 checkpoint's and the SentencePiece fixtures) and writes
engine/<name>/expected.json: {"lines": [[ids]], "whole": [ids], "whole_special": [ids], "decoded": str}."""
import json, os, sys
from tokenizers import Tokenizer, AddedToken, models, pre_tokenizers, normalizers, decoders, processors, trainers, Regex
import sentencepiece as spm

here = os.path.dirname(os.path.abspath(__file__))
smollm = sys.argv[1] if len(sys.argv) > 1 else '/work/cache/smollm2-135m-instruct'
corpus = open(os.path.join(here, 'corpus.txt'), encoding='utf-8', newline='').read()
lines = corpus.split('\n')
training = [l for l in lines if l] * 3 + open('/work/shared/golden/text/eval.txt', encoding='utf-8').read().split('\n')

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

def save_expected(name, tok):
    d = os.path.join(here, 'engine', name)
    os.makedirs(d, exist_ok=True)
    whole = tok.encode(corpus, add_special_tokens=False).ids
    data = {
        'lines': [tok.encode(l, add_special_tokens=False).ids for l in lines],
        'whole': whole,
        'whole_special': tok.encode(corpus).ids,
        'decoded': tok.decode(whole, skip_special_tokens=False),
    }
    json.dump(data, open(os.path.join(d, 'expected.json'), 'w'), separators=(',', ':'))

def byte_level_bpe(name, regex, ignore_merges, normalizer, bos):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if normalizer: tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(regex), behavior='isolated', invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|im_start|>', '<|im_end|>', '<|endoftext|>']
    trainer = trainers.BpeTrainer(vocab_size=900, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=specials, show_progress=False)
    tok.train_from_iterator(training, trainer)
    if bos:
        tok.post_processor = processors.TemplateProcessing(
            single='<|begin_of_text|> $A', pair='<|begin_of_text|> $A <|begin_of_text|> $B',
            special_tokens=[('<|begin_of_text|>', tok.token_to_id('<|begin_of_text|>'))])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # Non-special added tokens exercising lstrip/rstrip/single_word/normalized.
    tok.add_tokens([AddedToken('<note>', lstrip=True, rstrip=True, normalized=False),
                    AddedToken('kiln', single_word=True, normalized=True),
                    AddedToken('</note>', normalized=True)])
    d = os.path.join(here, 'engine', name)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, 'tokenizer.json'))
    save_expected(name, Tokenizer.from_file(os.path.join(d, 'tokenizer.json')))

def byte_fallback_bpe(name, metaspace):
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token='<unk>', fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend('▁'), normalizers.Replace(' ', '▁')])
    trainer = trainers.BpeTrainer(vocab_size=700, limit_alphabet=120, special_tokens=['<unk>', '<s>', '</s>'],
                                  show_progress=False)
    tok.train_from_iterator(training, trainer)
    j = json.loads(tok.to_str())
    # Llama 2 layout: <unk> <s> </s>, then the 256 byte pieces, then the learned vocabulary.
    old = sorted(j['model']['vocab'].items(), key=lambda kv: kv[1])
    specials = ['<unk>', '<s>', '</s>']
    vocab = {t: i for i, t in enumerate(specials)}
    for b in range(256): vocab['<0x%02X>' % b] = len(vocab)
    for t, _ in old:
        if t not in vocab: vocab[t] = len(vocab)
    j['model']['vocab'] = vocab
    for a in j['added_tokens']: a['id'] = vocab[a['content']]
    j['post_processor'] = {'type': 'TemplateProcessing',
        'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
        'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                 {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
        'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}}
    if metaspace:
        j['normalizer'] = None
        j['pre_tokenizer'] = {'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': 'first', 'split': False}
        j['decoder'] = {'type': 'Sequence', 'decoders': [
            {'type': 'Metaspace', 'replacement': '▁', 'prepend_scheme': 'first', 'split': False},
            {'type': 'ByteFallback'}, {'type': 'Fuse'}]}
    else:
        j['decoder'] = {'type': 'Sequence', 'decoders': [
            {'type': 'Replace', 'pattern': {'String': '▁'}, 'content': ' '},
            {'type': 'ByteFallback'}, {'type': 'Fuse'}, {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]}
    d = os.path.join(here, 'engine', name)
    os.makedirs(d, exist_ok=True)
    text = json.dumps(j, ensure_ascii=False, indent=1)
    open(os.path.join(d, 'tokenizer.json'), 'w', encoding='utf-8').write(text)
    save_expected(name, Tokenizer.from_str(text))

byte_level_bpe('llama3-bpe', LLAMA3, True, None, True)
byte_level_bpe('qwen2-bpe', QWEN2, False, normalizers.NFC(), False)
byte_fallback_bpe('llama2-bytefallback', False)
byte_fallback_bpe('metaspace', True)
save_expected('smollm2', Tokenizer.from_file(os.path.join(smollm, 'tokenizer.json')))

for kind in ('spm-bpe', 'spm-unigram'):
    sp = spm.SentencePieceProcessor(model_file=os.path.join(here, kind, 'tokenizer.model'))
    whole = sp.encode(corpus)
    data = {'lines': [sp.encode(l) for l in lines], 'whole': whole,
            'whole_special': [sp.bos_id()] + whole, 'decoded': sp.decode(whole)}
    d = os.path.join(here, 'engine', kind)
    os.makedirs(d, exist_ok=True)
    json.dump(data, open(os.path.join(d, 'expected.json'), 'w'), separators=(',', ':'))
print('ok')
