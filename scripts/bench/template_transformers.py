#!/usr/bin/env python3
"""Times transformers' `apply_chat_template` on one conversation, the template already compiled (the peer of
`kiln-bench template`).

    python template_transformers.py TEMPLATE.jinja CONVERSATION.json RUNS

CONVERSATION.json holds {"messages": [...], "tools": [...]}. Prints one JSON line:
{"seconds_per_render": [best of each batch...], "output": rendered prompt}.
"""

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "oracle"))
from chat_templates import DEFAULT_SPECIAL_TOKENS, make_tokenizer  # noqa: E402


def main():
    template_path, conversation_path, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(template_path, encoding="utf-8", newline="") as f:
        template = f.read()
    conversation = json.loads(Path(conversation_path).read_text(encoding="utf-8"))
    tokenizer = make_tokenizer(template, dict(DEFAULT_SPECIAL_TOKENS))

    def render():
        return tokenizer.apply_chat_template(
            conversation["messages"], tools=conversation.get("tools"), tokenize=False, add_generation_prompt=True)

    output = render()  # compiles the template (transformers caches the compiled template)
    batches = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(runs):
            render()
        batches.append((time.perf_counter() - start) / runs)
    print(json.dumps({"seconds_per_render": batches, "output": output}))


if __name__ == "__main__":
    main()
