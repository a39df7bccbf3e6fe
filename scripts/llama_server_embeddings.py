"""Runs llama.cpp's `llama-server --embeddings` on loopback for the scripts
that record embedding references (make-bert-test-model.py,
make-decoder-embedding-model.py): the vectors of some texts, asked for in one
batched request, and llama.cpp's tokens of each text."""
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def embeddings(server, model, texts, arguments):
    """(vectors, tokens) of `texts` from `server -m model --embeddings ARGUMENTS`."""
    port = free_port()
    process = subprocess.Popen(
        [server, "-m", model, "--embeddings", "--host", "127.0.0.1", "--port", str(port), "-t", "2", *arguments],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                with urllib.request.urlopen(url + "/health") as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        body = post(url + "/v1/embeddings", {"input": texts})
        vectors = [item["embedding"] for item in sorted(body["data"], key=lambda item: item["index"])]
        tokens = [post(url + "/tokenize", {"content": text, "add_special": True})["tokens"] for text in texts]
        return vectors, tokens
    finally:
        process.terminate()
        process.wait()
