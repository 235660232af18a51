"""Regenerates Resources/bpe-synthetic: a hand-made byte-level BPE tokenizer.json exercising added-token
rules, pair-form merges with a literal space, TemplateProcessing and PAD filling, plus what the real
converter code (get_vocab_base + SpecialVocab(load_merges=True)) produces for it. Run with the oracle venv
from llama.cpp's tree: /work/cache/oracle/bin/python <this file> <Resources dir>"""
import json, os, sys, pathlib
sys.path.insert(0, '.'); sys.path.insert(0, 'gguf-py')
import gguf
from conversion.base import TextModel
from gguf.vocab import bytes_to_unicode

d = os.path.join(sys.argv[1], 'bpe-synthetic'); os.makedirs(d, exist_ok=True)
alphabet = list(bytes_to_unicode().values())
vocab = {c: i for i, c in enumerate(alphabet)}
for t in ['Ġt', 'he', 'Ġthe', ' b', 'a b', '[PAD]']:
    vocab[t] = len(vocab)
merges = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['a', ' b']]
n = len(vocab)
added = [
    dict(id=n, content='<s>', special=True, normalized=False),
    dict(id=n + 1, content='</s>', special=True, normalized=False),
    dict(id=n + 2, content='Ġhello', special=False, normalized=False),
    dict(id=n + 3, content='\u2581user', special=False, normalized=True),
    dict(id=n + 4, content='<unused5>', special=False, normalized=False),
    dict(id=n + 5, content='hello world', special=False, normalized=False),
]
for a in added: a.update(single_word=False, lstrip=False, rstrip=False)
tokenizer = {
    'version': '1.0', 'truncation': None, 'padding': None, 'added_tokens': added, 'normalizer': None,
    'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
    'post_processor': {'type': 'TemplateProcessing',
        'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
        'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                 {'SpecialToken': {'id': '</s>', 'type_id': 0}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
        'special_tokens': {'<s>': {'id': '<s>', 'ids': [n], 'tokens': ['<s>']},
                           '</s>': {'id': '</s>', 'ids': [n + 1], 'tokens': ['</s>']}}},
    'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
    'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
              'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
              'vocab': vocab, 'merges': merges},
}
json.dump(tokenizer, open(os.path.join(d, 'tokenizer.json'), 'w'), ensure_ascii=False)
json.dump({'tokenizer_class': 'PreTrainedTokenizerFast', 'bos_token': '<s>', 'eos_token': '</s>',
           'pad_token': '[PAD]', 'add_eos_token': True, 'clean_up_tokenization_spaces': False,
           'model_max_length': 1024}, open(os.path.join(d, 'tokenizer_config.json'), 'w'), indent=2)
config = {'vocab_size': n + 9, 'bos_token_id': n, 'eos_token_id': n + 1}
json.dump(config, open(os.path.join(d, 'config.json'), 'w'), indent=2)
open(os.path.join(d, 'chat_template.jinja'), 'w').write('{{ messages }}\n')

class Fake:
    dir_model = pathlib.Path(d); hparams = config
    does_token_look_special = TextModel.does_token_look_special
    def get_vocab_base_pre(self, tokenizer): return 'gpt-2'
class Recorder:
    def __init__(self): self.kv = []
    def __getattr__(self, name):
        return lambda *args: self.kv.append([name] + [list(a) if isinstance(a, (list, tuple)) else a for a in args])
tokens, toktypes, _ = TextModel.get_vocab_base(Fake())
rec = Recorder()
gguf.SpecialVocab(d, load_merges=True).add_to_gguf(rec, quiet=True)
json.dump({'tokens': tokens, 'token_type': [int(t) for t in toktypes], 'special': rec.kv},
          open(os.path.join(d, 'expected.json'), 'w'), ensure_ascii=False)
print(tokens[n - 6:], [int(t) for t in toktypes][n - 6:], rec.kv[1:])
