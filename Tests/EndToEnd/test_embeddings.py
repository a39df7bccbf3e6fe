"""End-to-end tests of `/v1/embeddings`: all-MiniLM-L6-v2 (which
scripts/setup installs into models/all-MiniLM-L6-v2/, converted to GGUF by
scripts/convert-minilm.py) served by `lmgate backend` and called with the
OpenAI SDK, against an independent numpy forward pass of the original
safetensors (scripts/minilm-reference.py); and the requests it refuses."""
import json
import subprocess
import sys
import threading

import httpx2 as httpx
import numpy as np
import openai
import pytest

from backend_support import MODEL, BackendProcess
from conftest import REPO
from serve_support import Serve

MINILM_DIR = REPO / "models" / "all-MiniLM-L6-v2"
MINILM = MINILM_DIR / "all-MiniLM-L6-v2.gguf"
SENTENCES = [
    "Hello world",
    "The cat sits on the mat.",
    "A man is playing a guitar on stage.",
    "Embeddings turn sentences into vectors that can be compared.",
    "Quantum computers use qubits instead of bits.",
    "I love pizza with extra cheese!",
    "The stock market fell sharply on Tuesday.",
    "Photosynthesis converts light energy into chemical energy.",
    "Don't forget to bring an umbrella; it's going to rain.",
    "Café crème, naïve résumé: accents are stripped.",
]


def cosine(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def reference():
    assert MINILM.is_file(), f"{MINILM} is missing: run scripts/setup, which installs it"
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "minilm-reference.py"), str(MINILM_DIR)],
        input=json.dumps(SENTENCES), capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def server(bin_dir):
    assert MINILM.is_file(), f"{MINILM} is missing: run scripts/setup, which installs it"
    with BackendProcess(bin_dir, MINILM) as server:
        yield server


def client(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused", max_retries=0)


def test_the_sdk_gets_embeddings_equal_to_the_numpy_reference(server, reference):
    # The SDK asks for base64 and decodes it; "local-model" is served by the one model.
    response = client(server).embeddings.create(model="local-model", input=SENTENCES)
    assert response.model == "all-MiniLM-L6-v2"
    assert [item.index for item in response.data] == list(range(len(SENTENCES)))
    for sentence, item, expected in zip(SENTENCES, response.data, reference):
        assert len(item.embedding) == 384
        assert cosine(item.embedding, expected["embedding"]) >= 0.999, sentence
    assert response.usage.prompt_tokens == sum(len(expected["tokens"]) for expected in reference)


def test_float_encoding_token_ids_and_a_single_string_agree(server, reference):
    api = client(server)
    as_floats = api.embeddings.create(model="all-MiniLM-L6-v2", input=SENTENCES[1], encoding_format="float")
    from_ids = api.embeddings.create(model="all-MiniLM-L6-v2", input=[reference[1]["tokens"]], encoding_format="float")
    single_ids = api.embeddings.create(model="all-MiniLM-L6-v2", input=reference[1]["tokens"], encoding_format="float")
    assert cosine(as_floats.data[0].embedding, reference[1]["embedding"]) >= 0.999
    assert cosine(from_ids.data[0].embedding, as_floats.data[0].embedding) >= 0.99999
    assert cosine(single_ids.data[0].embedding, as_floats.data[0].embedding) >= 0.99999
    assert as_floats.usage.prompt_tokens == len(reference[1]["tokens"])


def test_concurrent_requests_each_get_their_own_vectors(server, reference):
    results = {}

    def run(index):
        response = httpx.post(server.base_url + "/v1/embeddings", json={"input": [SENTENCES[index]]}, timeout=120)
        results[index] = response.json()["data"][0]["embedding"]

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(SENTENCES))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, expected in enumerate(reference):
        assert cosine(results[index], expected["embedding"]) >= 0.999, SENTENCES[index]


@pytest.mark.parametrize("body, fragment", [
    ({"input": ""}, "'input' is empty"),
    ({"input": []}, "'input' is an empty list"),
    ({"input": [""]}, "non-empty"),
    ({"input": [1, "a"]}, "token ids"),
    ({"input": ["a"] * 257}, "at most 256"),
    ({"input": "a", "encoding_format": "int8"}, "encoding_format"),
    ({"input": "a", "dimensions": 128}, "does not allow shortening"),
    ({"input": [[101, 99999, 102]]}, "outside the vocabulary"),
    ({"input": "word " * 600}, "context is 512 tokens"),
    ({}, "'input' is required"),
])
def test_bad_requests_are_clear_400s(server, body, fragment):
    response = httpx.post(server.base_url + "/v1/embeddings", json=body, timeout=60)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["error"]["message"]


def test_the_full_dimension_is_accepted(server, reference):
    response = httpx.post(server.base_url + "/v1/embeddings", json={"input": SENTENCES[0], "dimensions": 384}, timeout=60)
    assert response.status_code == 200
    assert cosine(response.json()["data"][0]["embedding"], reference[0]["embedding"]) >= 0.999


def test_a_chat_request_to_the_embedding_model_is_a_400(server):
    with pytest.raises(openai.BadRequestError) as raised:
        client(server).chat.completions.create(model="local-model", messages=[{"role": "user", "content": "hi"}])
    assert "embedding model" in str(raised.value)


def test_an_embedding_request_to_a_chat_model_is_a_400(bin_dir, fixtures):
    with BackendProcess(bin_dir, fixtures / "models" / f"{MODEL}.gguf") as chat_server:
        with pytest.raises(openai.BadRequestError) as raised:
            client(chat_server).embeddings.create(model="local-model", input="hello")
    assert "does not produce embeddings" in str(raised.value)


def test_the_listing_names_it_an_embedding_model(server):
    listing = httpx.get(server.base_url + "/v1/models", timeout=30).json()["data"]
    assert [(model["id"], model["type"], model["arch"]) for model in listing] == [("all-MiniLM-L6-v2", "embeddings", "bert")]


def test_embeddings_are_served_while_a_generation_streams(bin_dir, tmp_path):
    demo = REPO / "models" / "lmgate-demo.gguf"
    assert demo.is_file() and MINILM.is_file(), "run scripts/setup, which installs both models"
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "demo.gguf").symlink_to(demo)
    (folder / "minilm.gguf").symlink_to(MINILM)
    server = BackendProcess(bin_dir, folder)
    server.args = [str(bin_dir / "lmgate"), "backend", "--models-dir", str(folder), "--port", str(server.port),
                   "--threads", "1"]
    with server:
        first_chunk = threading.Event()
        ended = threading.Event()
        stop = threading.Event()

        def generate():
            body = {"model": "demo", "prompt": "Once", "max_tokens": 3000, "ignore_eos": True, "stream": True}
            with httpx.stream("POST", server.base_url + "/v1/completions", json=body, timeout=300) as response:
                for _ in response.iter_lines():
                    first_chunk.set()
                    if stop.is_set():
                        return  # leaving closes the connection, which cancels the generation
            ended.set()

        generator = threading.Thread(target=generate)
        generator.start()
        assert first_chunk.wait(120), "the generation never started"
        for sentence in SENTENCES[:5]:
            response = httpx.post(server.base_url + "/v1/embeddings", json={"model": "minilm", "input": sentence}, timeout=60)
            assert response.status_code == 200, response.text
            assert len(response.json()["data"][0]["embedding"]) == 384
        # Answered while the 3000-token generation was still streaming: neither waited for the other.
        assert not ended.is_set()
        stop.set()
        generator.join(60)


def test_embeddings_through_lmgate_serve(bin_dir, tmp_path, reference):
    import ssl
    server = Serve(bin_dir, tmp_path, MINILM)
    try:
        server.wait_ready()
        sdk = openai.OpenAI(base_url=server.url + "/v1", api_key=server.key, max_retries=0,
                            http_client=httpx.Client(verify=ssl.create_default_context(cafile=server.ca), timeout=60))
        response = sdk.embeddings.create(model="local-model", input=SENTENCES[:3])
        assert response.model == "all-MiniLM-L6-v2"
        for item, expected in zip(response.data, reference[:3]):
            assert cosine(item.embedding, expected["embedding"]) >= 0.999
    finally:
        server.stop()


# A decoder embedding model: the tiny qwen3 fixture with qwen3.pooling_type = 3
# (last token), written at test time by scripts/make-decoder-embedding-model.py,
# against the vectors llama.cpp gave for it (the reference file says how it was recorded).
DECODER_REFERENCE = REPO / "Tests" / "BackendTests" / "Fixtures" / "models" / "tiny-qwen3-embedding.embeddings.json"


@pytest.fixture(scope="module")
def decoder_server(bin_dir, tmp_path_factory):
    model = tmp_path_factory.mktemp("decoder-embedding") / "tiny-qwen3-embedding.gguf"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make-decoder-embedding-model.py"), str(model)], check=True)
    with BackendProcess(bin_dir, model) as server:
        yield server


def test_a_decoder_embedding_model_equals_llama_cpp_and_refuses_chat(decoder_server):
    reference = json.loads(DECODER_REFERENCE.read_text())
    api = client(decoder_server)
    response = api.embeddings.create(model="local-model", input=reference["inputs"])
    assert response.model == "tiny-qwen3-embedding"
    for text, item, expected in zip(reference["inputs"], response.data, reference["last"]):
        assert cosine(item.embedding, expected) >= 0.9999, text
    assert response.usage.prompt_tokens == sum(len(tokens) for tokens in reference["tokens"])
    with pytest.raises(openai.BadRequestError) as raised:
        api.chat.completions.create(model="local-model", messages=[{"role": "user", "content": "hi"}])
    assert "embedding model" in str(raised.value)
    listing = httpx.get(decoder_server.base_url + "/v1/models", timeout=30).json()["data"]
    assert [(model["id"], model["type"], model["arch"]) for model in listing] == [("tiny-qwen3-embedding", "embeddings", "qwen3")]
    over = httpx.post(decoder_server.base_url + "/v1/embeddings", json={"input": ["a", "word " * 600]}, timeout=60)
    assert over.status_code == 400 and "input 1 has" in over.json()["error"]["message"], over.text
