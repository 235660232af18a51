"""Regenerates the SentencePiece fixtures. Run from llama.cpp's tree with the oracle venv:
    cd /work/cache/llama.cpp && /work/cache/oracle/bin/python <this file> <Resources dir>
Trains two tiny SentencePiece models (BPE and unigram, byte_fallback on), writes small checkpoint
folders, and dumps what the real converter code (_create_vocab_sentencepiece + SpecialVocab) produces,
plus sentencepiece's own view of each piece."""
import io, json, os, sys, types
sys.path.insert(0, '.'); sys.path.insert(0, 'gguf-py')
import sentencepiece as spm
import gguf
from conversion.base import TextModel

out = sys.argv[1]
text = """The quick brown fox jumps over the lazy dog. Kiln converts checkpoints into GGUF files.
SentencePiece splits text into pieces; byte fallback covers the rest: café, naïve, 東京, 🦙.
Numbers 12345 and 3.14159 appear, as do <tags> and symbols like # $ % & *.
""" * 40

def train(kind):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text.splitlines()), model_writer=model, model_type=kind,
        vocab_size=360 if kind == 'bpe' else 340, byte_fallback=True, character_coverage=1.0,
        user_defined_symbols=['<tool>'], control_symbols=['<ctrl>'], minloglevel=2, normalization_rule_name='identity')
    return model.getvalue()

class Fake:
    def __init__(self, d, hparams):
        self.dir_model = d; self.hparams = hparams
    def find_hparam(self, keys, optional=False):
        key = next((k for k in keys if k in self.hparams), None)
        return self.hparams[key] if key is not None else None
    does_token_look_special = TextModel.does_token_look_special

class Recorder:
    def __init__(self): self.kv = []
    def __getattr__(self, name):
        def add(*args):
            self.kv.append([name] + [a if not isinstance(a, (list, tuple)) else list(a) for a in args])
        return add

for kind, extra in (('bpe', True), ('unigram', False)):
    d = os.path.join(out, f'spm-{kind}')
    os.makedirs(d, exist_ok=True)
    data = train(kind)
    open(os.path.join(d, 'tokenizer.model'), 'wb').write(data)
    sp = spm.SentencePieceProcessor(); sp.LoadFromSerializedProto(data)
    n = sp.vocab_size()
    config = {'vocab_size': n + 4 if extra else n, 'bos_token_id': 1, 'eos_token_id': 2, 'pad_token_id': n + 10}
    json.dump(config, open(os.path.join(d, 'config.json'), 'w'), indent=2)
    if extra:
        json.dump({'<extra_a>': n, '<|extra_b|>': n + 1, 'toolong': n + 50}, open(os.path.join(d, 'added_tokens.json'), 'w'))
        json.dump({
            'add_bos_token': True, 'add_eos_token': False, 'bos_token': '<s>', 'eos_token': '</s>',
            'chat_template': "{% for m in messages %}{{ m['content'] }}{% endfor %}",
            'added_tokens_decoder': {
                str(n + 1): {'content': '<|extra_b|>', 'special': False},
                str(n + 2): {'content': '\u2581user\u2581word', 'special': False},
                str(n + 3): {'content': '<unused0>', 'special': False},
                '5': {'content': '<ctrl5>', 'special': True},
            }}, open(os.path.join(d, 'tokenizer_config.json'), 'w'), indent=2, ensure_ascii=False)
    fake = Fake(__import__('pathlib').Path(d), config)
    tokens, scores, toktypes = TextModel._create_vocab_sentencepiece(fake)
    rec = Recorder()
    gguf.SpecialVocab(d, n_vocab=len(tokens)).add_to_gguf(rec, quiet=True)
    json.dump({
        'tokens': [t.decode('utf-8') for t in tokens], 'scores': scores, 'token_type': [int(t) for t in toktypes],
        'special': rec.kv,
        'sentencepiece': {'pieces': [sp.IdToPiece(i) for i in range(n)], 'scores': [sp.GetScore(i) for i in range(n)],
                          'unknown': [i for i in range(n) if sp.IsUnknown(i)], 'control': [i for i in range(n) if sp.IsControl(i)],
                          'unused': [i for i in range(n) if sp.IsUnused(i)], 'byte': [i for i in range(n) if sp.IsByte(i)]},
    }, open(os.path.join(d, 'expected.json'), 'w'), ensure_ascii=False)
    print(kind, n, len(data), rec.kv[:6])
