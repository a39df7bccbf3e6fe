"""End-to-end tests of structured output on the default model
(SmolLM2-135M-Instruct, Q4_1) through the OpenAI SDK: generated JSON
Schemas (the first 100 of a fixed sequence of 200 in a CI run, which keeps
the suite within its time budget; LMGATE_SCHEMA_COUNT=200 runs all 200 the
issue asked for), each answer validated by the `jsonschema` package; the SDK's own
`chat.completions.parse` and `responses.parse` (the Responses API's
`text.format`) with a Pydantic model; json_object mode; a token
limit that cuts the JSON short; and schemas the server refuses."""
import concurrent.futures
import json
import os
import random
from typing import Annotated, Literal, Optional

import jsonschema
import openai
import pydantic
import pytest

from backend_support import BackendProcess
from conftest import REPO
from schema_generator import random_schema

DEFAULT_MODEL = REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL = DEFAULT_MODEL.stem


@pytest.fixture(scope="module")
def client(bin_dir):
    assert DEFAULT_MODEL.is_file(), f"{DEFAULT_MODEL} is missing: run scripts/setup, which installs it"
    # Four sequences decoded together: the 200 schemas finish in a few minutes.
    with BackendProcess(bin_dir, DEFAULT_MODEL, "--parallel", "4") as server:
        yield openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused-local-key", max_retries=0, timeout=600)


def ask(client, schema, max_tokens=400, **extra):
    return client.chat.completions.create(
        model=MODEL, temperature=0, max_tokens=max_tokens,
        messages=[{"role": "user", "content": "Give an example JSON object for this schema:\n" + json.dumps(schema)}],
        response_format={"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema}},
        **extra)


def check(client, index, schema):
    """What is wrong with the answer to `schema`, or None."""
    choice = ask(client, schema).choices[0]
    if index % 20 == 19:
        print(f"schema {index + 1} answered", flush=True)
    if choice.finish_reason != "stop":
        return f"#{index}: finish_reason {choice.finish_reason} (token limit before the JSON was complete)"
    try:
        jsonschema.validate(json.loads(choice.message.content), schema)
    except (ValueError, jsonschema.ValidationError) as error:
        return f"#{index}: {error}\nschema: {json.dumps(schema)}\noutput: {choice.message.content}"
    return None


def test_generated_schemas_all_validate(client):
    rng = random.Random(15)
    count = int(os.environ.get("LMGATE_SCHEMA_COUNT", "100"))
    assert 1 <= count <= 200, "LMGATE_SCHEMA_COUNT is 1 to 200"
    schemas = [random_schema(rng, small=True) for _ in range(200)][:count]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        failures = [f for f in pool.map(lambda item: check(client, *item), enumerate(schemas)) if f]
    assert not failures, f"{len(failures)}/{count} failed:\n" + "\n".join(failures[:5])


def Text(length):
    return Annotated[str, pydantic.Field(max_length=length)]


class Country(pydantic.BaseModel):
    # Bounds (maxLength, maxItems in the schema) keep a 135M model's answer within max_tokens.
    name: Text(40)
    capital: Text(40)
    continent: Literal["Africa", "America", "Asia", "Europe", "Oceania"]
    landlocked: bool
    neighbours: Annotated[list[Text(30)], pydantic.Field(max_length=6)]
    motto: Optional[Text(60)]


def test_sdk_parse_with_a_pydantic_model(client):
    completion = client.chat.completions.parse(
        model=MODEL, temperature=0, max_tokens=300,
        messages=[{"role": "user", "content": "Describe France."}], response_format=Country)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    country = choice.message.parsed
    assert isinstance(country, Country)
    assert country.continent in ("Africa", "America", "Asia", "Europe", "Oceania")


def test_responses_parse_and_stream_with_text_format(client):
    # The Responses API's text.format: the SDK's own responses.parse sends the
    # Pydantic model's strict schema there; a stream's text validates too.
    parsed = client.responses.parse(
        model=MODEL, temperature=0, max_output_tokens=300, input="Describe France.", text_format=Country)
    assert parsed.status == "completed", parsed.output_text
    assert isinstance(parsed.output_parsed, Country)
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                               "population": {"type": "integer", "minimum": 0}},
              "required": ["city", "population"], "additionalProperties": False}
    with client.responses.stream(
            model=MODEL, temperature=0, max_output_tokens=300, input="Name a city and its population.",
            text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}}) as stream:
        final = stream.get_final_response()
    jsonschema.validate(json.loads(final.output_text), schema)


def test_json_object_mode_answers_an_object(client):
    reply = client.chat.completions.create(
        model=MODEL, temperature=0, max_tokens=300, response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Answer in JSON with the keys name and age: who wrote Hamlet?"}])
    choice = reply.choices[0]
    assert choice.finish_reason == "stop", choice.message.content
    assert isinstance(json.loads(choice.message.content), dict)


def test_streamed_constrained_answer_validates(client):
    schema = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20},
                                               "population": {"type": "integer", "minimum": 0}},
              "required": ["city", "population"], "additionalProperties": False}
    stream = ask(client, schema, stream=True)
    text, finish = "", None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    assert finish == "stop"
    jsonschema.validate(json.loads(text), schema)


def test_token_limit_cuts_the_json_short_with_finish_reason_length(client):
    # As llama-server does: the text so far, unfinished, and finish_reason "length".
    schema = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}, "minItems": 20}},
              "required": ["items"], "additionalProperties": False}
    choice = ask(client, schema, max_tokens=8).choices[0]
    assert choice.finish_reason == "length"
    assert choice.message.content.startswith('{')
    with pytest.raises(ValueError):
        json.loads(choice.message.content)


@pytest.mark.parametrize("schema, named", [
    ({"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}, "pattern"),
    ({"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"},
     "recursive"),
    ({"type": "object", "properties": {f"p{i}": {"type": "null"} for i in range(100)}}, "properties"),
])
def test_unenforceable_schemas_are_a_400_on_response_format(client, schema, named):
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, schema)
    error = caught.value.body
    assert error["param"] == "response_format"
    assert named in error["message"]
