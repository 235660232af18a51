import json
C = []
def case(id, dir, total=0, **kw):
    c = {"id": id, "dir": dir, "total_params": total}
    files = kw.pop("files", {})
    if files: c["files"] = files
    c.update(kw)
    C.append(c)

def card(yaml): return "---\n" + yaml + "---\n\n# Model\n\nSome text.\n"

case("smollm2-no-card", "smollm2-135m-instruct", 134515008)
case("smollm2-zero-params", "smollm2-135m-instruct", 0)
case("llama32-1b", "Llama-3.2-1B-Instruct", 1235814400, files={
  "config.json": json.dumps({"_name_or_path": "meta-llama/Llama-3.2-1B-Instruct", "architectures": ["LlamaForCausalLM"]}),
  "README.md": card("language:\n- en\n- de\n- fr\n- it\n- pt\n- hi\n- es\n- th\nlibrary_name: transformers\nlicense: llama3.2\npipeline_tag: text-generation\ntags:\n- facebook\n- meta\n- pytorch\n- llama\n- llama-3\nextra_gated_prompt: >-\n  ### LLAMA 3.2 COMMUNITY LICENSE AGREEMENT\n\n  Llama 3.2 Version Release Date: September 25, 2024\nextra_gated_fields:\n  First Name: text\n  Country: country\n"),
  "generation_config.json": json.dumps({"bos_token_id": 128000, "do_sample": True, "eos_token_id": [128001, 128008, 128009], "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.0.dev0"}, indent=2)})
case("qwen25-05b", "Qwen2.5-0.5B-Instruct", 494032768, files={
  "config.json": json.dumps({"_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"}),
  "README.md": card("license: apache-2.0\nlicense_link: https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/blob/main/LICENSE\nlanguage:\n- en\npipeline_tag: text-generation\nbase_model: Qwen/Qwen2.5-0.5B\ntags:\n- chat\nlibrary_name: transformers\n"),
  "generation_config.json": json.dumps({"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": True, "eos_token_id": [151645, 151643], "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"})})
case("mistral-7b-v03", "Mistral-7B-Instruct-v0.3", 7248023552, files={
  "README.md": card("license: apache-2.0\nbase_model: mistralai/Mistral-7B-v0.3\nextra_gated_description: If you want to learn more about how we process your personal data, please read our <a href=\"https://mistral.ai/terms/\">Privacy Policy</a>.\n"),
  "generation_config.json": json.dumps({"_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2})})
case("gemma-2-2b-it", "gemma-2-2b-it", 2614341888, files={
  "README.md": card("license: gemma\nlibrary_name: transformers\npipeline_tag: text-generation\nextra_gated_heading: Access Gemma on Hugging Face\nextra_gated_prompt: >-\n  To access Gemma on Hugging Face, you’re required to review and agree to\n  Google’s usage license.\nextra_gated_button_content: Acknowledge license\ntags:\n- conversational\nbase_model: google/gemma-2-2b\n"),
  "generation_config.json": json.dumps({"bos_token_id": 2, "cache_implementation": "hybrid", "eos_token_id": [1, 107], "pad_token_id": 0})})
case("phi3-mini-4k", "Phi-3-mini-4k-instruct", 3821079552, files={
  "README.md": card("license: mit\nlicense_link: https://huggingface.co/microsoft/Phi-3-mini-4k-instruct/resolve/main/LICENSE\nlanguage:\n- en\n- fr\npipeline_tag: text-generation\ntags:\n- nlp\n- code\ninference:\n  parameters:\n    temperature: 0\nwidget:\n  - messages:\n      - role: user\n        content: Can you provide ways to eat combinations of bananas and dragonfruits?\n")})
case("bloom-7b1", "bloom-7b1", 7069016064)
case("bloom-7b1-no-params", "bloom-7b1", 0)
case("bloom-560m", "bloom-560m", 559214592)
# names: versions and quant types
for i, (d, t) in enumerate([
    ("TinyLlama-1.1B-Chat-v1.0", 1100048384),
    ("Llama-2-7b-chat-hf-Q4_K_M", 6738415616),
    ("Meta-Llama-3.1-8B-Instruct-bf16", 8030261248),
    ("Meta-Llama-3.1-8B-Instruct-F16", 8030261248),
    ("SmolLM2-1.7B-Instruct-IQ2_XXS", 1711376384),
    ("model-q8_0", 1000000),
    ("Qwen3-30B-A3B", 30532122624),
    ("Qwen3-30B-A3B-Instruct-2507", 30532122624),
    ("Mixtral-8x7B-Instruct-v0.1", 46702792704),
    ("phi-2", 2779683840),
    ("gpt2", 124439808),
    ("gpt2-xl", 1557611200),
    ("gpt2-medium", 354823168),
    ("Hermes-2-Pro-Llama-3-8B", 8030261248),
    ("deepseek-coder-6.7b-instruct", 6740512768),
    ("stablelm-2-zephyr-1_6b", 1644515328),
    ("internlm2_5-7b-chat", 7737708544),
    ("DeepSeek-R1-Distill-Qwen-1.5B", 1777088000),
    ("OLMo-2-1124-7B", 7298617344),
    ("Llama-3.1-Nemotron-70B-Instruct-HF", 70553706496),
    ("Qwen2.5-Coder-32B-Instruct-AWQ", 32763876352),
    ("Mistral-Nemo-Instruct-2407", 12247782400),
    ("Phi-3-medium-128k-instruct", 13960238080),
    ("Yi-1.5-9B-Chat-16K", 8829407232),
    ("flan-t5-large", 783150080),
    ("gpt-neox-20b", 20554567680),
    ("v0.1-my-model", 1000),
    ("iter3-model-v2", 1000),
    ("model-v1.2-iter3", 1000),
    ("123-abc", 1000),
    ("llama", 7000000000),
    ("Llama-7B", 7000000000),
    ("Llama-7B", 700000000),
    ("Llama-7B", 70000000000),
    ("my--weird---name-", 5000),
    ("granite-3.0-2b-instruct", 2533539840),
    ("Falcon3-Mamba-7B-Base", 7272665088),
    ("CodeLlama-34b-Instruct-hf", 33743970304),
    ("jamba-v0.1-9B-small-large", 9000000000),
    ("tiny-random-LlamaForCausalLM", 1032),
    ("bert-base-uncased", 109482240),
    ("e5-mistral-7b-instruct-lora", 7110660096),
    ("Model-A22B-1T5", 1500000000000),
    ("ömer-modell-7b-çhat", 7000000000),
    ("ÉCOLE-llm-1b", 1000000000),
  ]):
    case(f"name-{i:02d}-{d}", d, t)

# _name_or_path
case("nop-0-slash", "some-dir", 124439808, files={"config.json": json.dumps({"_name_or_path": "gpt2"})})
case("nop-1-slash", "checkpoint-500", 6738415616, files={"config.json": json.dumps({"_name_or_path": "meta-llama/Llama-2-7b-hf"})})
case("nop-2-slash", "Llama-2-7b-chat", 6738415616, files={"config.json": json.dumps({"_name_or_path": "/home/user/models/llama-2-13b"})})
case("nop-dot-org", "outdir", 6738415616, files={"config.json": json.dumps({"_name_or_path": "./Mistral-7B-v0.1"})})
case("nop-empty", "Qwen2-1.5B", 1543714304, files={"config.json": json.dumps({"_name_or_path": ""})})
case("nop-null", "Qwen2-1.5B", 1543714304, files={"config.json": json.dumps({"_name_or_path": None})})
case("nop-spaces", "Qwen2-1.5B", 1543714304, files={"config.json": json.dumps({"_name_or_path": "My Great Model"})})
case("nop-number", "Qwen2-1.5B", 1543714304, files={"config.json": json.dumps({"_name_or_path": 5})})
case("nop-config-invalid", "Qwen2-1.5B", 1543714304, files={"config.json": "{not json"})

# model cards
case("card-license-list", "m-7b", 7000000000, files={"README.md": card("license:\n- apache-2.0\n- mit\n")})
case("card-license-other", "m-7b", 7000000000, files={"README.md": card("license: other\nlicense_name: my-license\nlicense_link: LICENSE\n")})
case("card-base-list", "merged-7b", 7241732096, files={"README.md": card("base_model:\n- mistralai/Mistral-7B-v0.1\n- teknium/OpenHermes-2.5-Mistral-7B\n- https://huggingface.co/Intel/neural-chat-7b-v3-3\n- https://example.com/models/foo\n- https://huggingface.co/org/name/tree/main\n- 42\n- name: Custom Base\n  organization: Someone\n  version: v2\n  url: https://example.com\n  doi: 10.1234/abc\n  uuid: '1234'\n  description: ''\nlibrary_name: transformers\ntags:\n- mergekit\n- merge\n")})
case("card-base-url", "finetuned-7b", 7241732096, files={"README.md": card("base_model: https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.2\n")})
case("card-base-ssh", "finetuned-7b", 7241732096, files={"README.md": card("base_model: ssh://git@example.com/repo\n")})
case("card-base-dict", "finetuned-7b", 7241732096, files={"README.md": card("base_model:\n  name: Foo\n")})
case("card-base-null", "finetuned-7b", 7241732096, files={"README.md": card("base_model:\nbase_model_relation: finetune\n")})
case("card-base-models-key", "finetuned-7b", 7241732096, files={"README.md": card("base_models: Qwen/Qwen2-7B\n")})
case("card-datasets", "finetuned-7b", 7241732096, files={"README.md": card("datasets:\n- HuggingFaceH4/ultrachat_200k\n- https://huggingface.co/datasets/openbmb/UltraFeedback\n- https://huggingface.co/teknium/OpenHermes-2.5\n- local-data-v2\n- name: My Set\n  repo_url: https://example.com/set\n")})
case("card-dataset-single", "finetuned-7b", 7241732096, files={"README.md": card("dataset: teknium/OpenHermes-2.5\n")})
case("card-language-str", "m-1b", 1000000000, files={"README.md": card("language: en\npipeline_tag: text-generation\ntags: test\n")})
case("card-languages-both", "m-1b", 1000000000, files={"README.md": card("languages:\n- fr\nlanguage:\n- en\n- no\n- de\n")})
case("card-tags-int", "m-1b", 1000000000, files={"README.md": card("tags:\n- 1\n- 0x1F\n- 017\n- 1_000\n- 1:30\n- +5\n- -0\n- 0b101\n")})
case("card-tags-str-lookalike", "m-1b", 1000000000, files={"README.md": card("tags:\n- 1e5\n- 0o17\n- 1.2.3\n- ~x\n- nan\n- 'yes'\n- \"1.0\"\n- Null-ish\n- 12:00:00x\n")})
case("card-tags-null-elem", "m-1b", 1000000000, files={"README.md": card("tags:\n- a\n- null\n")})
case("card-base-uuid-int", "m-1b", 1000000000, files={"README.md": card("base_model:\n- name: X\n  uuid: 1234\n")})
case("card-description-zero", "m-1b", 1000000000, files={"README.md": card("description: 0\nauthor: false\n")})
case("card-tags-bool", "m-1b", 1000000000, files={"README.md": card("tags:\n- yes\n- off\n")})
case("card-tags-mixed", "m-1b", 1000000000, files={"README.md": card("tags:\n- a\n- 2\n")})
case("card-tags-empty", "m-1b", 1000000000, files={"README.md": card("tags: []\npipeline_tag: 5\n")})
case("card-tags-float", "m-1b", 1000000000, files={"README.md": card("tags:\n- 1.5\n- .5\n- 1_0.0\n- 1.0e+5\n- -2.\n- 1:30.5\n- 0.1\n")})
case("card-thebloke", "mistral-7b-instruct-v0.2.Q4_K_M", 7241732096, files={"README.md": card("base_model: mistralai/Mistral-7B-Instruct-v0.2\ninference: false\nlicense: apache-2.0\nmodel_creator: Mistral AI_\nmodel_name: Mistral 7B Instruct v0.2\nmodel_type: mistral\npipeline_tag: text-generation\nprompt_template: '<s>[INST] {prompt} [/INST]\n\n  '\nquantized_by: TheBloke\ntags:\n- finetuned\n")})
case("card-llamacpp-keys", "x-7b", 7000000000, files={"README.md": card("name: Custom Name\nauthor: Me\nversion: v1.0\norganization: Org\ndescription: A model\nfinetune: special\nbasename: custom\nsize_label: 7B-A1B\nurl: https://u\ndoi: 10.1/x\nuuid: abcd\nrepo_url: https://r\n")})
case("card-model-prefixed", "x-7b", 7000000000, files={"README.md": card("model_name: Prefixed\nmodel_author: A\nmodel_version: '2'\nmodel_organization: O\nmodel_description: D\nmodel_finetune: F\nmodel_basename: B\nmodel_size_label: S\nmodel_url: U\nmodel_doi: DOI\nmodel_uuid: UUID\nmodel_repo_url: R\n")})
case("card-version-float", "x-7b", 7000000000, files={"README.md": card("version: 1.0\n")})
case("card-version-int-zero", "x-7b", 7000000000, files={"README.md": card("version: 0\n")})
case("card-version-quoted", "x-7b", 7000000000, files={"README.md": card("version: '1.0'\n")})
case("card-name-empty", "x-7b", 7000000000, files={"README.md": card("name: ''\n")})
case("card-name-null", "x-7b", 7000000000, files={"README.md": card("name:\n")})
case("card-date", "x-7b", 7000000000, files={"README.md": card("version: 2024-01-01\n")})
case("card-not-dict", "x-7b", 7000000000, files={"README.md": card("- a\n- b\n")})
case("card-no-frontmatter", "x-7b", 7000000000, files={"README.md": "# Title\n---\nlicense: mit\n---\n"})
case("card-leading-space", "x-7b", 7000000000, files={"README.md": " ---\nlicense: mit\n---\n"})
case("card-unterminated", "x-7b", 7000000000, files={"README.md": "---\nlicense: mit\ntags:\n- a\n"})
case("card-crlf", "x-7b", 7000000000, files={"README.md": "---\r\nlicense: mit\r\ntags:\r\n- a\r\n- no\r\n---\r\nbody\r\n"})
case("card-tabs", "x-7b", 7000000000, files={"README.md": "---\nlicense: mit\ntags:\n\t- a\n\t- b\n---\n"})
case("card-empty", "x-7b", 7000000000, files={"README.md": ""})
case("card-empty-frontmatter", "x-7b", 7000000000, files={"README.md": "---\n---\n"})
case("card-invalid-yaml", "x-7b", 7000000000, files={"README.md": card("license: [mit\n")})
case("card-anchor", "x-7b", 7000000000, files={"README.md": card("x: &a apache-2.0\nlicense: *a\ntags: [ 'q', \"r\", s ]\n")})
case("card-explicit-tag", "x-7b", 7000000000, files={"README.md": card("version: !!str 1.0\nlicense: !!str yes\n")})
case("card-bool-license", "x-7b", 7000000000, files={"README.md": card("license: no\n")})
case("card-multidoc-in-body", "x-7b", 7000000000, files={"README.md": card("license: mit\n") + "\n---\nmore: 1\n---\n"})
case("card-unicode", "x-7b", 7000000000, files={"README.md": card("license: mit\ndescription: \"Modèle 日本語 🚀\"\ntags:\n- café\n")})
case("card-license-empty-list", "x-7b", 7000000000, files={"README.md": card("license: []\n")})
case("card-license-int", "x-7b", 7000000000, files={"README.md": card("license: 3\n")})

# generation config
case("gen-full", "g-1b", 1000000000, files={"generation_config.json": json.dumps({"temperature": 0.6, "top_k": 50, "top_p": 0.95, "repetition_penalty": 1.05, "min_p": 0.05})})
case("gen-penalty-both", "g-1b", 1000000000, files={"generation_config.json": json.dumps({"repetition_penalty": 1.05, "penalty_repeat": 1.2, "penalty_last_n": 64, "sequence": "edkypmxt", "xtc_probability": 0.5, "xtc_threshold": 0.1, "mirostat": 2, "mirostat_tau": 5, "mirostat_eta": 0.1})})
case("gen-int-temp", "g-1b", 1000000000, files={"generation_config.json": "{\"temperature\": 1, \"top_p\": 1.0, \"top_k\": 0}"})
case("gen-float-topk", "g-1b", 1000000000, files={"generation_config.json": "{\"top_k\": 40.0}"})
case("gen-null", "g-1b", 1000000000, files={"generation_config.json": "{\"temperature\": null, \"top_k\": 3}"})
case("gen-invalid", "g-1b", 1000000000, files={"generation_config.json": "{\"temperature\": 0.5,"})
case("gen-empty-seq", "g-1b", 1000000000, files={"generation_config.json": "{\"sequence\": \"\", \"top_k\": true, \"temperature\": 1e-5}"})

# override
case("override-basic", "Llama-3.2-1B-Instruct", 1235814400, files={"README.md": card("license: llama3.2\ntags:\n- a\n")},
     override=json.dumps({"general.name": "My Llama", "general.version": "v2", "general.author": "Me", "general.organization": "Org",
        "general.finetune": "ft", "general.basename": "base", "general.description": "desc", "general.quantized_by": "q",
        "general.size_label": "1B", "general.license.name": "ln", "general.license.link": "ll", "general.url": "u", "general.doi": "d",
        "general.uuid": "uu", "general.repo_url": "r", "general.source.url": "su", "general.source.doi": "sd", "general.source.uuid": "suu",
        "general.source.repo_url": "sr", "general.tags": ["x", "y"], "general.languages": ["en"], "general.license": "ignored",
        "general.base_models": [{"name": "B", "organization": "O", "repo_url": "https://x"}],
        "general.datasets": [{"name": "D"}, {}],
        "general.sampling.temp": 0.3, "general.sampling.top_k": 7, "general.sampling.penalty_repeat": 1.3}))
case("override-null-name", "Qwen2.5-0.5B-Instruct", 494032768, files={"config.json": json.dumps({"_name_or_path": "Qwen/Qwen2.5-0.5B-Instruct"})},
     override=json.dumps({"general.name": None, "general.basename": None, "general.size_label": None}))
case("override-invalid", "x-7b", 7000000000, override="{oops")
case("override-not-file", "x-7b", 7000000000)
case("override-tags-string", "x-7b", 7000000000, override=json.dumps({"general.tags": "ab"}))
case("override-sampling-int-float", "x-7b", 7000000000, override="{\"general.sampling.top_p\": 1, \"general.sampling.mirostat\": 1, \"general.sampling.min_p\": 0.1}")

# --model-name
case("model-name", "Llama-3.2-1B-Instruct", 1235814400, model_name="Custom Model Name")
case("model-name-with-override", "Llama-3.2-1B-Instruct", 1235814400, model_name="CLI Name", override=json.dumps({"general.name": "Override Name"}))

# more names
for i, (d, t) in enumerate([
    ("straße-7b", 7000000000), ("ǆemal-1b", 1000000000), ("Model-8x22B-v0.1", 140620634112), ("model-1.5b-7b", 7000000000),
    ("model-7B-7B", 7000000000), ("Qwen1.5-MoE-A2.7B", 14315784192), ("Hunyuan-A13B-Instruct", 80393183232),
    ("gemma-3n-E4B-it", 7849978192), ("Llama-4-Scout-17B-16E-Instruct", 108641793024), ("DeepSeek-V3-0324", 671026419200),
    ("Kimi-K2-Instruct", 1026470731776), ("model-V2.5", 1000), ("ITER5-model-x", 1000), ("x-Q4_0_4_8", 1000), ("x-IQ4_NL", 1000),
    ("x-fp32", 1000), ("x-bf16-q8_0", 1000), ("x-7b-lora", 7000000000), ("SmolLM-135M", 134515008), ("x-1.5k", 1500),
    ("x-2T", 2000000000000), ("x-7B1", 7100000000), ("x-MINI-XXL", 1000), ("Ｆｕｌｌ-7b", 7000000000), ("x-٧b", 7000000000),
    ("a.b-c_d-7b", 7000000000), ("x-7_5B", 7500000000), ("x-3.8B-8k", 3800000000), ("x-3.8B-0.5B", 3800000000),
    ("org.name-7b", 7000000000), ("x-1b-Chat-chat", 1000000000), ("7b", 7000000000), ("x", 0), ("Llama-3.2-1B-Instruct", -1235814400),
  ]):
    case(f"name2-{i:02d}", d, t)
case("card-bom", "x-7b", 7000000000, files={"README.md": "\ufeff---\nlicense: mit\n---\n"})
case("card-norway-scalar", "x-7b", 7000000000, files={"README.md": card("language: no\ntags: [a, b]\nlanguages:\n  - no\n  - nb\n")})
case("card-quoted-license", "x-7b", 7000000000, files={"README.md": card("license: \"apache-2.0\"\nname: ' Spaced Name '\n")})
case("card-hf-other-host", "x-7b", 7000000000, files={"README.md": card("base_model:\n- https://hf.co/x/y\n- http://huggingface.co/a/b\n- https://huggingfaceXco/a/b\n- https://huggingface.co/a/\n")})
case("card-block-scalars", "x-7b", 7000000000, files={"README.md": card("description: |\n  line one\n  line two\nauthor: >\n  folded\n  text\n")})
case("card-nested-no", "x-7b", 7000000000, files={"README.md": card("tags:\n- yes\n- no\n")})
case("override-slash-name", "x-7b", 7000000000, override=json.dumps({"general.name": "org/My Model ", "general.basename": None}))
case("override-basename-slash", "x-7b", 7000000000, override=json.dumps({"general.basename": " a/b c ", "general.finetune": "x y", "general.version": " v 1 "}))
case("override-base-models-str", "x-7b", 7000000000, override=json.dumps({"general.base_models": "abc"}))
case("override-base-models-str-bad", "x-7b", 7000000000, override=json.dumps({"general.base_models": ["has a name"]}))
case("override-null-file", "x-7b", 7000000000, override="null")
case("override-crlf", "x-7b", 7000000000, override="{\r\n  \"general.name\": \"A\\u00e9\\ud83d\\ude80\"\r\n}\r\n")
case("gen-bom", "g-1b", 1000000000, files={"generation_config.json": "\ufeff{\"temperature\": 0.5}"})
case("gen-huge-topk", "g-1b", 1000000000, files={"generation_config.json": "{\"top_k\": 1099511627776}"})
case("gen-huge-temp", "g-1b", 1000000000, files={"generation_config.json": "{\"temperature\": 1e39}"})
case("gen-list", "g-1b", 1000000000, files={"generation_config.json": "[1]"})
case("gen-nan", "g-1b", 1000000000, files={"generation_config.json": "{\"temperature\": NaN, \"top_p\": -Infinity}"})
case("config-null", "Qwen2-1.5B", 1543714304, files={"config.json": "null"})
case("config-list", "Qwen2-1.5B", 1543714304, files={"config.json": "[]"})

# MoE size label
case("moe-size", "my-moe", 46702792704, shared_params=1604382720, expert_params=5637451776, expert_count=8)

sizes = [[1235814400,0,0,0],[134515008,0,0,0],[494032768,0,0,0],[1,0,0,0],[0,0,0,0],[999,0,0,0],[1000,0,0,0],[1001,0,0,0],[9999,0,0,0],[99999,0,0,0],[999999,0,0,0],
  [1000000,0,0,0],[1000001,0,0,0],[9950000,0,0,0],[9949999,0,0,0],[99500000,0,0,0],[999999999,0,0,0],[1000000000,0,0,0],[1000000001,0,0,0],[7241732096,0,0,0],[70553706496,0,0,0],
  [405000000000,0,0,0],[1000000000000,0,0,0],[1000000000001,0,0,0],[1500000000000,0,0,0],[123456789012345,0,0,0],[2500000,0,0,0],[1500000,0,0,0],[500,0,0,0],[50,0,0,0],[5,0,0,0],
  [135000000,0,0,0],[125000,0,0,0],[12500000000,0,0,0],[-5000000,0,0,0],
  [46702792704,1604382720,5637451776,8],[30532122624,1000000000,300000000,128],[0,0,150000,64]]
json.dump({"cases": C, "size_labels": sizes}, open("cases.json", "w"), indent=1, ensure_ascii=True)
print(len(C))
