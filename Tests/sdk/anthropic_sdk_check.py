"""Drives a running Switchyard gateway with the official Anthropic Python SDK.

Usage: anthropic_sdk_check.py BASE_URL   (no /v1 suffix: the SDK appends /v1/messages)
Prints one JSON object with what the SDK saw; exits non-zero if any check fails.
Only structure is checked, never what the model says.
"""
import json
import sys
import traceback

import anthropic

# This SDK's create() has no `temperature` argument: the Messages API field goes in the body as is.
GREEDY = {"temperature": 0}

client = anthropic.Anthropic(base_url=sys.argv[1], api_key="not-needed-for-switchyard", max_retries=0, timeout=120)

seen = {}
failures = []

BLOCK_TYPES = {"text", "tool_use", "thinking", "redacted_thinking"}
WEATHER = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def text_of(message):
    return "".join(block.text for block in message.content if block.type == "text")


def check_message(message, label):
    """The structure of a parsed message; returns a summary of it."""
    check(message.type == "message", f"{label}: type {message.type!r}")
    check(message.role == "assistant", f"{label}: role {message.role!r}")
    check(isinstance(message.id, str) and message.id != "", f"{label}: id {message.id!r}")
    types = [block.type for block in message.content]
    check(all(t in BLOCK_TYPES for t in types), f"{label}: block types {types}")
    tool_uses = [block for block in message.content if block.type == "tool_use"]
    for block in tool_uses:
        check(isinstance(block.id, str) and block.id != "", f"{label}: tool_use id {block.id!r}")
        check(isinstance(block.name, str) and block.name != "", f"{label}: tool_use name {block.name!r}")
        check(isinstance(block.input, dict), f"{label}: tool_use input {block.input!r}")
    check(message.stop_reason in {"end_turn", "max_tokens", "stop_sequence", "tool_use"},
          f"{label}: stop_reason {message.stop_reason!r}")
    check((message.stop_reason == "tool_use") == bool(tool_uses),
          f"{label}: stop_reason {message.stop_reason!r} with {len(tool_uses)} tool_use blocks")
    check(message.usage is not None and isinstance(message.usage.input_tokens, int) and message.usage.input_tokens > 0,
          f"{label}: usage.input_tokens {getattr(message.usage, 'input_tokens', None)!r}")
    check(message.usage is not None and isinstance(message.usage.output_tokens, int) and message.usage.output_tokens > 0,
          f"{label}: usage.output_tokens {getattr(message.usage, 'output_tokens', None)!r}")
    return {"types": types, "stop_reason": message.stop_reason, "text": text_of(message),
            "tool_uses": [{"id": b.id, "name": b.name, "input": b.input} for b in tool_uses],
            "usage": {"input_tokens": message.usage.input_tokens, "output_tokens": message.usage.output_tokens}}


def step(name, body):
    try:
        body()
    except Exception as error:  # every step runs; each failure is reported
        failures.append(f"{name}: {type(error).__name__}: {error}")
        seen.setdefault("tracebacks", {})[name] = traceback.format_exc()


def create():
    raw = client.messages.with_raw_response.create(
        model="auto", max_tokens=16, extra_body=GREEDY,
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    message = raw.parse()
    seen["create"] = check_message(message, "create")
    seen["content"] = text_of(message)
    seen["stop_reason"] = message.stop_reason
    seen["usage"] = seen["create"]["usage"]
    seen["route"] = raw.headers.get("x-switchyard-route")
    seen["model_header"] = raw.headers.get("x-switchyard-model")
    seen["request_id"] = raw.headers.get("x-switchyard-request-id")
    check(message.content and message.content[0].type == "text", "create: the first block is text")


def stream():
    pieces = []
    with client.messages.stream(
        model="auto", max_tokens=12, extra_body=GREEDY,
        messages=[{"role": "user", "content": "Name a colour."}],
    ) as s:
        for text in s.text_stream:
            pieces.append(text)
        final = s.get_final_message()
    seen["stream"] = check_message(final, "stream")
    seen["stream_final_input_tokens"] = final.usage.input_tokens
    # The events as the SDK parses them: message_start's usage, as some clients read it.
    with client.messages.stream(
        model="auto", max_tokens=4, extra_body=GREEDY,
        messages=[{"role": "user", "content": "Name a colour."}],
    ) as s:
        starts = [event.message.usage.input_tokens for event in s if event.type == "message_start"]
    seen["stream_start_input_tokens"] = starts[0] if len(starts) == 1 else starts
    seen["stream_text"] = "".join(pieces)
    seen["stream_final_text"] = text_of(final)
    seen["stream_usage"] = final.usage.output_tokens
    check(seen["stream_text"] == seen["stream_final_text"], "stream: streamed text differs from the final message's")
    check(seen["stream_text"] != "", "stream: no text streamed")


def tools():
    question = [{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}]
    message = client.messages.create(model="auto", max_tokens=48, extra_body=GREEDY, tools=[WEATHER], messages=question)
    seen["tool"] = check_message(message, "tool")
    # The follow-up with a tool round trip built here, whatever the model did.
    follow_up = question + [
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look that up."},
            {"type": "tool_use", "id": "toolu_fixed_01", "name": "get_weather", "input": {"city": "Paris"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_fixed_01", "content": "18 degrees and sunny"},
        ]},
    ]
    answer = client.messages.create(model="auto", max_tokens=24, extra_body=GREEDY, tools=[WEATHER], messages=follow_up)
    seen["tool_follow_up"] = check_message(answer, "tool_follow_up")


def tools_streamed():
    with client.messages.stream(
        model="auto", max_tokens=48, extra_body=GREEDY, tools=[WEATHER],
        messages=[{"role": "user", "content": "What is the weather in Oslo? Use the get_weather tool."}],
    ) as s:
        events = [event.type for event in s]
        final = s.get_final_message()
    seen["tool_stream"] = check_message(final, "tool_stream")
    seen["tool_stream_events"] = sorted(set(events))


def count():
    counted = client.messages.count_tokens(model="auto", messages=[{"role": "user", "content": "What is the capital of France?"}])
    seen["count_tokens"] = counted.input_tokens
    check(isinstance(counted.input_tokens, int) and counted.input_tokens > 0, f"count_tokens: {counted.input_tokens!r}")


def models():
    listed = [model.id for model in client.models.list()]
    seen["models"] = listed
    check(listed[:1] == ["auto"] and "local" in listed, f"models.list: {listed!r}")


def errors():
    try:
        client.messages.create(model="auto", max_tokens=8, messages=[])
        seen["bad_request"] = None
    except anthropic.APIStatusError as error:
        seen["bad_request"] = type(error).__name__
        seen["bad_request_status"] = error.status_code
        seen["bad_request_body"] = error.body
    check(seen["bad_request"] == "BadRequestError", f"messages=[]: {seen['bad_request']}")
    try:
        client.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
        seen["not_found"] = None
    except anthropic.APIStatusError as error:
        seen["not_found"] = type(error).__name__
        seen["not_found_body"] = error.body
    check(seen["not_found"] == "NotFoundError", f"model=no-such-model: {seen['not_found']}")


for name, body in [("create", create), ("stream", stream), ("tools", tools), ("tools_streamed", tools_streamed),
                   ("count_tokens", count), ("models", models), ("errors", errors)]:
    step(name, body)

seen["failures"] = failures
print(json.dumps(seen, default=str))
sys.exit(1 if failures else 0)
