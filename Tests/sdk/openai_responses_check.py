"""Drives a running Switchyard gateway's Responses front with the official OpenAI Python SDK.

Usage: openai_responses_check.py BASE_URL
Prints one JSON object with what the SDK saw; exits non-zero if a call that should work fails.
"""
import json
import sys

import openai
from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key="not-needed-for-switchyard", max_retries=0, timeout=120)

first = client.responses.create(model="auto", input="What is the capital of France?", max_output_tokens=16, temperature=0)

# A stream: text deltas, then the final response.
deltas, events = [], []
with client.responses.stream(model="auto", input="Name a colour.", max_output_tokens=64, temperature=0) as stream:
    for event in stream:
        events.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    final = stream.get_final_response()

# A function tool round trip: the structure, not the model's choice.
tools = [{"type": "function", "name": "get_weather", "description": "The weather in a city.",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
with_tools = client.responses.create(model="auto", input="What is the weather in Paris?", tools=tools, max_output_tokens=32)
tool_result = client.responses.create(
    model="auto", max_output_tokens=16, tools=tools,
    input=[{"role": "user", "content": "What is the weather in Paris?"},
           {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"},
           {"type": "function_call_output", "call_id": "call_1", "output": "Sunny, 21 C"}])

# A continuation, then retrieve, list its input items and delete.
follow = client.responses.create(model="auto", input="And of Italy?", previous_response_id=first.id, max_output_tokens=16)
retrieved = client.responses.retrieve(follow.id)
# The items the continuation was made from, oldest first: whole, and a page of one at a time
# (the SDK follows `after` while `has_more`).
def listed(**query):
    return [[item.type, item.role, item.content[0].text] for item in client.responses.input_items.list(follow.id, **query)]
input_items = listed(order="asc")
input_items_paged = listed(order="asc", limit=1)
input_items_newest = listed()
client.responses.delete(follow.id)
try:
    client.responses.retrieve(follow.id)
    after_delete = None
except openai.NotFoundError as error:
    after_delete = type(error).__name__

def error_of(call):
    try:
        call()
        return None
    except Exception as error:
        return type(error).__name__

print(json.dumps({
    "first_id": first.id,
    "first_text": first.output_text,
    "first_status": first.status,
    "first_usage": first.usage.output_tokens if first.usage else None,
    "stream_text": "".join(deltas),
    "stream_final_text": final.output_text,
    "stream_first_events": events[:2],
    "stream_last_event": events[-1] if events else None,
    "tools_output_types": [item.type for item in with_tools.output],
    "tools_echoed": [tool.name for tool in with_tools.tools],
    "tool_result_text": tool_result.output_text,
    "follow_previous": follow.previous_response_id,
    "retrieved_id": retrieved.id,
    "retrieved_text": retrieved.output_text,
    "follow_text": follow.output_text,
    "after_delete": after_delete,
    "input_items": input_items,
    "input_items_paged": input_items_paged,
    "input_items_newest": input_items_newest,
    "bad_input": error_of(lambda: client.responses.create(model="auto", input=[{"type": "no_such_item"}])),
    "unknown_model": error_of(lambda: client.responses.create(model="no-such-model", input="hi")),
    "unknown_previous": error_of(lambda: client.responses.create(model="auto", input="hi", previous_response_id="resp_nope")),
}))
