"""Reference throughput for tok-bench: Hugging Face `tokenizers`, one thread, no encode_batch.
    TOKENIZERS_PARALLELISM=false PYTHON scripts/bench/bench_tokenizers.py <checkpoint-dir> <text> [repeat] [runs]"""
import os, sys, time
os.environ['TOKENIZERS_PARALLELISM'] = 'false'
from tokenizers import Tokenizer
tok = Tokenizer.from_file(os.path.join(sys.argv[1], 'tokenizer.json'))
text = open(sys.argv[2], encoding='utf-8').read()
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 20
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
print('ids:', len(tok.encode(text, add_special_tokens=False).ids))
big = text * repeat
mb = len(big.encode()) / 1e6
best = float('inf')
for _ in range(runs):
    t = time.perf_counter()
    n = len(tok.encode(big, add_special_tokens=False).ids)
    best = min(best, time.perf_counter() - t)
print('tokenizers, one string: %.3f MB in %.4f s = %.2f MB/s (best of runs)' % (mb, best, mb / best))
lines = big.split('\n')
best = float('inf')
for _ in range(runs):
    t = time.perf_counter()
    n = sum(len(tok.encode(l, add_special_tokens=False).ids) for l in lines)
    best = min(best, time.perf_counter() - t)
print('tokenizers, per line: %.3f MB in %.4f s = %.2f MB/s (best of runs)' % (mb, best, mb / best))
