"""Drives a running Switchyard gateway with the official OpenAI Python SDK.

Usage: openai_sdk_check.py BASE_URL
Prints one JSON object with what the SDK saw; exits non-zero if any call fails.
"""
import json
import sys

from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key="not-needed-for-switchyard", max_retries=0, timeout=120)

completion = client.chat.completions.with_raw_response.create(
    model="auto",
    messages=[{"role": "user", "content": "What is the capital of France?"}],
    max_tokens=16,
    temperature=0,
)
parsed = completion.parse()

stream = client.chat.completions.create(
    model="auto",
    messages=[{"role": "user", "content": "Name a colour."}],
    max_tokens=12,
    stream=True,
    stream_options={"include_usage": True},
)
pieces, usage = [], None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
    if chunk.usage:
        usage = chunk.usage.completion_tokens

models = [m.id for m in client.models.list()]

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    not_found = None
except Exception as error:  # the SDK raises NotFoundError for 404
    not_found = type(error).__name__

print(json.dumps({
    "content": parsed.choices[0].message.content,
    "route": completion.headers.get("x-switchyard-route"),
    "finish_reason": parsed.choices[0].finish_reason,
    "stream_text": "".join(pieces),
    "stream_usage": usage,
    "models": models,
    "not_found": not_found,
}))
