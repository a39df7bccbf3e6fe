"""End-to-end tests of tool calling with the real OpenAI and Anthropic SDKs
against `lmgate backend` running the default model (SmolLM2-135M-Instruct,
whose template has no tools: they are written into the prompt as text) and
the demo model (a synthetic model with a Qwen2-style ChatML template).

A 135M model's free choice to call a tool is not reliable, so the parsing of
calls from output is tested in Swift on model outputs in each format
(ToolCallParserTests, ServerAPIRenderingTests); here the round trip is
checked to reach the template (the prompt grows by what the tools and
results add) and every answer to have the shape the SDKs accept. Forced
calls (`required`, a named function, Anthropic's `any`) are enforced by the
grammar, so there every model's answer is a valid call."""
import json

import anthropic
import jsonschema
import httpx2 as httpx
import openai
import pytest

from backend_support import BackendProcess, sse_events
from conftest import REPO

MODELS = {
    "SmolLM2-135M-Instruct.Q4_1": REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf",
    "lmgate-demo": REPO / "models" / "lmgate-demo.gguf",
}

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "get_time", "description": "The local time in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
]

QUESTION = {"role": "user", "content": "What is the weather in Paris?"}
CALL = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": json.dumps({"city": "Paris"})}}]}
RESULT = {"role": "tool", "tool_call_id": "call_1", "content": "18 C and sunny"}


@pytest.fixture(scope="module", params=list(MODELS))
def backend(request, bin_dir):
    path = MODELS[request.param]
    assert path.is_file(), f"{path} is missing: run scripts/setup, which installs it"
    with BackendProcess(bin_dir, path, "--parallel", "1") as server:
        server.model = request.param
        yield server


@pytest.fixture
def client(backend):
    return openai.OpenAI(base_url=backend.base_url + "/v1", api_key="unused-local-key", max_retries=0)


def check_answer(choice):
    """What the SDK parsed is a whole answer: text, calls, or both."""
    assert choice.finish_reason in ("stop", "length", "tool_calls")
    message = choice.message
    assert message.role == "assistant"
    if choice.finish_reason == "tool_calls":
        assert message.tool_calls and all(call.function.name in ("get_weather", "get_time") for call in message.tool_calls)
        for call in message.tool_calls:
            json.loads(call.function.arguments)
    else:
        assert isinstance(message.content, str) and not message.tool_calls


def test_two_tools_reach_the_template_and_the_answer_parses(backend, client):
    plain = client.chat.completions.create(model=backend.model, messages=[QUESTION], max_tokens=8, temperature=0)
    with_tools = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=TOOLS, max_tokens=24, temperature=0)
    check_answer(with_tools.choices[0])
    # Both tools' signatures are in the prompt.
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens + 60
    none = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=TOOLS, tool_choice="none", max_tokens=8, temperature=0)
    assert none.usage.prompt_tokens == plain.usage.prompt_tokens


FORCED_TOOLS = [
    {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 24}}, "required": ["city"]}}}
    for name, description in (("get_weather", "The current weather in a city"), ("get_time", "The local time in a city"))
]
FORCED_SCHEMAS = {tool["function"]["name"]: tool["function"]["parameters"] for tool in FORCED_TOOLS}


def check_forced_calls(name_arguments, allowed):
    """Each call is of an allowed tool, its arguments JSON that its schema validates."""
    assert name_arguments
    for name, arguments in name_arguments:
        assert name in allowed
        jsonschema.validate(json.loads(arguments), FORCED_SCHEMAS[name])


def test_required_forces_a_valid_call(backend, client):
    # Grammar-constrained: even a model that would not call (the demo model's
    # random weights) makes a call of one of the tools, with valid arguments.
    response = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=FORCED_TOOLS, tool_choice="required", parallel_tool_calls=False,
        max_tokens=96, temperature=0)
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls" and len(choice.message.tool_calls) == 1
    check_forced_calls([(call.function.name, call.function.arguments) for call in choice.message.tool_calls], FORCED_SCHEMAS)

    stream = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=FORCED_TOOLS, tool_choice="required", max_tokens=96, temperature=0,
        stream=True)
    calls, reasons = {}, []
    for chunk in stream:
        for streamed in chunk.choices:
            for delta in streamed.delta.tool_calls or []:
                name, arguments = calls.get(delta.index, ("", ""))
                calls[delta.index] = (name + (delta.function.name or ""), arguments + (delta.function.arguments or ""))
            if streamed.finish_reason:
                reasons.append(streamed.finish_reason)
    assert reasons == ["tool_calls"]
    check_forced_calls(list(calls.values()), FORCED_SCHEMAS)


def test_a_named_function_is_the_call(backend, client):
    named = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=FORCED_TOOLS, max_tokens=96, temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    choice = named.choices[0]
    assert choice.finish_reason == "tool_calls"
    check_forced_calls([(call.function.name, call.function.arguments) for call in choice.message.tool_calls], ["get_time"])


def test_a_forced_call_of_an_unenforceable_schema_is_400(backend):
    tools = [{"type": "function", "function": {
        "name": "lookup", "parameters": {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[A-Z]+$"}}}}}]
    body = {"model": backend.model, "messages": [QUESTION], "max_tokens": 2, "tools": tools, "tool_choice": "required"}
    response = backend.post("/v1/chat/completions", body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "tools" and "lookup" in error["message"] and "pattern" in error["message"]
    # Under auto nothing is forced: the request runs unconstrained.
    assert backend.post("/v1/chat/completions", {**body, "tool_choice": "auto"}).status_code == 200


def test_round_trip_call_result_answer(backend, client):
    asked = client.chat.completions.create(model=backend.model, messages=[QUESTION], tools=TOOLS, max_tokens=4, temperature=0)
    response = client.chat.completions.create(
        model=backend.model, messages=[QUESTION, CALL, RESULT], tools=TOOLS, max_tokens=24, temperature=0)
    check_answer(response.choices[0])
    # The call and its result are in the prompt.
    assert response.usage.prompt_tokens > asked.usage.prompt_tokens + 15


def test_round_trip_streaming(backend, client):
    stream = client.chat.completions.create(
        model=backend.model, messages=[QUESTION, CALL, RESULT], tools=TOOLS, max_tokens=24, temperature=0, stream=True,
        stream_options={"include_usage": True})
    text, reasons, usage = "", [], None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    assert reasons and reasons[-1] in ("stop", "length", "tool_calls")
    whole = client.chat.completions.create(
        model=backend.model, messages=[QUESTION, CALL, RESULT], tools=TOOLS, max_tokens=24, temperature=0)
    assert usage.prompt_tokens == whole.usage.prompt_tokens
    if whole.choices[0].finish_reason != "tool_calls":
        assert text == whole.choices[0].message.content


def test_the_sdk_assembles_a_streamed_answer_with_tools(backend, client):
    with client.chat.completions.stream(
            model=backend.model, messages=[QUESTION, CALL, RESULT], tools=TOOLS, max_tokens=16, temperature=0) as stream:
        kinds = {event.type for event in stream}
        # The snapshot the SDK assembled from the chunks (get_final_completion
        # refuses an answer cut by max_tokens, which a small model often gives).
        final = stream.current_completion_snapshot
    assert "chunk" in kinds
    check_answer(final.choices[0])


def test_bad_tool_input_is_400_with_its_param(backend):
    cases = [
        ({"tools": [{"type": "function", "function": {"parameters": {}}}]}, "tools"),
        ({"tools": [TOOLS[0], TOOLS[0]]}, "tools"),
        ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        ({"tools": [{"type": "function", "function": {"name": f"f{i}"}} for i in range(200)]}, "tools"),
        ({"messages": [QUESTION, {"role": "tool", "tool_call_id": "call_1", "content": "x"}]}, "messages[1].role"),
        ({"messages": [QUESTION, CALL, {**RESULT, "tool_call_id": "call_2"}]}, "messages[2].tool_call_id"),
    ]
    for fields, param in cases:
        body = {"model": backend.model, "messages": [QUESTION], "max_tokens": 2, **fields}
        response = backend.post("/v1/chat/completions", body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["param"] == param and error["type"] == "invalid_request_error", (fields, error)


ANTHROPIC_TOOLS = [{"name": "get_weather", "description": "The current weather in a city",
                    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
ANTHROPIC_ROUND_TRIP = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C and sunny"}]},
]


def test_anthropic_tool_round_trip_and_count_tokens(backend):
    client = anthropic.Anthropic(base_url=backend.base_url, api_key="unused-local-key", max_retries=0)
    message = client.messages.create(
        model=backend.model, max_tokens=24, tools=ANTHROPIC_TOOLS, messages=ANTHROPIC_ROUND_TRIP)
    assert message.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert all(block.type in ("text", "tool_use") for block in message.content)
    counted = client.messages.count_tokens(model=backend.model, tools=ANTHROPIC_TOOLS, messages=ANTHROPIC_ROUND_TRIP)
    assert counted.input_tokens == message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0)
    bare = client.messages.count_tokens(model=backend.model, messages=ANTHROPIC_ROUND_TRIP[:1])
    assert counted.input_tokens > bare.input_tokens + 40

    with client.messages.stream(
            model=backend.model, max_tokens=16, tools=ANTHROPIC_TOOLS, messages=ANTHROPIC_ROUND_TRIP) as stream:
        final = stream.get_final_message()
    assert final.stop_reason in ("end_turn", "max_tokens", "tool_use")

    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model=backend.model, max_tokens=4, tools=[{"name": "get_weather"}], messages=ANTHROPIC_ROUND_TRIP[:1])
    assert raised.value.body["error"]["param"] == "tools"


RESPONSES_TOOLS = [{"type": "function", "name": "get_weather", "description": "The current weather in a city",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
RESPONSES_ROUND_TRIP = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": json.dumps({"city": "Paris"})},
    {"type": "function_call_output", "call_id": "call_1", "output": "18 C and sunny"},
]


def test_responses_with_a_function_tool(backend, client):
    response = client.responses.create(
        model=backend.model, instructions="Answer briefly.", input=RESPONSES_ROUND_TRIP, tools=RESPONSES_TOOLS,
        max_output_tokens=16, temperature=0)
    assert response.object == "response" and response.status in ("completed", "incomplete")
    assert all(item.type in ("message", "function_call") for item in response.output)
    assert response.usage.input_tokens > 60 and response.instructions == "Answer briefly."
    if response.status == "completed" and not any(item.type == "function_call" for item in response.output):
        assert response.output_text

    with client.responses.stream(
            model=backend.model, input=RESPONSES_ROUND_TRIP, tools=RESPONSES_TOOLS, max_output_tokens=16, temperature=0) as stream:
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created" and kinds[-1] in ("response.completed", "response.incomplete")
    # As OpenAI's, an answer cut by max_output_tokens ends with response.incomplete
    # (the SDK's get_final_response wants response.completed); both carry the response.
    final = events[-1].response
    assert final.status == ("completed" if kinds[-1] == "response.completed" else "incomplete")
    if final.status == "completed":
        assert stream.get_final_response().id == final.id
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text == "".join(part.text for item in final.output if item.type == "message" for part in item.content)
    assert final.usage.input_tokens == client.responses.create(
        model=backend.model, input=RESPONSES_ROUND_TRIP, tools=RESPONSES_TOOLS, max_output_tokens=1).usage.input_tokens

    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=backend.model, input="Hi", previous_response_id="resp_123")
    assert raised.value.body["param"] == "previous_response_id"


def test_anthropic_any_forces_a_tool_use_block(backend):
    client = anthropic.Anthropic(base_url=backend.base_url, api_key="unused-local-key", max_retries=0)
    tools = [{"name": tool["function"]["name"], "description": tool["function"]["description"],
              "input_schema": tool["function"]["parameters"]} for tool in FORCED_TOOLS]
    message = client.messages.create(
        model=backend.model, max_tokens=96, tools=tools, tool_choice={"type": "any"}, messages=ANTHROPIC_ROUND_TRIP[:1])
    assert message.stop_reason == "tool_use"
    uses = [block for block in message.content if block.type == "tool_use"]
    assert uses
    check_forced_calls([(block.name, json.dumps(block.input)) for block in uses], FORCED_SCHEMAS)
    # The call markup the prompt ends with is counted as the generation ran it.
    counted = client.messages.count_tokens(
        model=backend.model, tools=tools, tool_choice={"type": "any"}, messages=ANTHROPIC_ROUND_TRIP[:1])
    assert counted.input_tokens == message.usage.input_tokens + (message.usage.cache_read_input_tokens or 0)

    with client.messages.stream(
            model=backend.model, max_tokens=96, tools=tools, tool_choice={"type": "tool", "name": "get_time"},
            messages=ANTHROPIC_ROUND_TRIP[:1]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    check_forced_calls([(block.name, json.dumps(block.input)) for block in final.content if block.type == "tool_use"], ["get_time"])


CITY_SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 24}, "population": {"type": "integer", "minimum": 0, "maximum": 100000000}},
    "required": ["name", "population"], "additionalProperties": False}


def test_responses_text_format_and_a_forced_function_call(backend, client):
    response = client.responses.create(
        # Room for the whitespace the grammar allows between tokens, which the demo model's random weights favour.
        model=backend.model, input="Name a city and its population, as JSON.", max_output_tokens=320, temperature=0,
        text={"format": {"type": "json_schema", "name": "city", "schema": CITY_SCHEMA, "strict": True}})
    assert response.status == "completed"
    jsonschema.validate(json.loads(response.output_text), CITY_SCHEMA)

    tools = [{"type": "function", **tool["function"]} for tool in FORCED_TOOLS]
    called = client.responses.create(
        model=backend.model, input="What is the weather in Paris?", tools=tools, tool_choice="required",
        max_output_tokens=96, temperature=0)
    calls = [item for item in called.output if item.type == "function_call"]
    assert called.status == "completed" and calls
    check_forced_calls([(call.name, call.arguments) for call in calls], FORCED_SCHEMAS)

    with client.responses.stream(
            model=backend.model, input="What is the weather in Paris?", tools=tools,
            tool_choice={"type": "function", "name": "get_weather"}, max_output_tokens=96, temperature=0) as stream:
        events = list(stream)
    final = events[-1].response
    assert events[-1].type == "response.completed"
    streamed = [item for item in final.output if item.type == "function_call"]
    check_forced_calls([(call.name, call.arguments) for call in streamed], ["get_weather"])
    deltas = "".join(event.delta for event in events if event.type == "response.function_call_arguments.delta")
    assert deltas == "".join(call.arguments for call in streamed)

    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(
            model=backend.model, input="x", max_output_tokens=4,
            text={"format": {"type": "json_schema", "name": "p", "schema": {"type": "string", "pattern": "a+"}}})
    assert raised.value.body["param"] == "text.format"
