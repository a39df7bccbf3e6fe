"""End-to-end tests of tool calling with the real OpenAI and Anthropic SDKs
against `lmgate backend` running the default model (SmolLM2-135M-Instruct,
whose template has no tools: they are written into the prompt as text) and
the demo model (a synthetic model with a Qwen2-style ChatML template).

A 135M model's free choice to call a tool is not reliable, so the parsing of
calls from output is tested in Swift on model outputs in each format
(ToolCallParserTests, ServerAPIRenderingTests); here the round trip is
checked to reach the template (the prompt grows by what the tools and
results add) and every answer to have the shape the SDKs accept."""
import json

import anthropic
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


def test_required_without_a_call_returns_what_the_model_wrote(backend, client):
    # Until grammar-constrained sampling enforces it, a forced call the model
    # did not make is its text with finish_reason stop (or length), never an error.
    response = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=TOOLS, tool_choice="required", max_tokens=16, temperature=0)
    check_answer(response.choices[0])
    named = client.chat.completions.create(
        model=backend.model, messages=[QUESTION], tools=TOOLS, max_tokens=16, temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    check_answer(named.choices[0])


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
