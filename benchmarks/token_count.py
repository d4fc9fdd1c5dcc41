"""Context tokens: what the budget counts vs the exact count of what a gpt-oss server sees.

Runs research questions over docs/ (ingested into a fresh Milvus Lite file, the offline
policy driving the real tools) and records every request the model node sends. For each,
the exact prompt size is openai-harmony's rendering of the request (the renderer vLLM
uses), tokenized with o200k_harmony; openai-harmony runs offline on a vocabulary file
rebuilt from quicktok's bundled data whose SHA-256 equals the published file's. Beside
the product's count, two earlier estimates in the same run:
- bytes/3.5: UTF-8 bytes / 3.5 per message plus 4 tokens of framing (the previous fallback
  on a machine where tiktoken had no cached o200k_base);
- o200k, content only: message texts and tool-call arguments in o200k plus 4 tokens per
  message (the previous count with a tiktoken cache: no system framing, no tool definitions).
The two tools' definitions are bound on every tool turn, as in the product.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support.harmony_reference (the reference renderer)

QUESTIONS = [
    "How do I share one Milvus Lite database between LangGraph Studio and the CLI?",
    "Which settings control the tool-call and context budgets?",
    "How are citations checked against what the agent read?",
    "What happens when ingestion is interrupted?",
    "Which servers can host gpt-oss and how is reasoning effort sent to each?",
    "How does fetch_doc rebuild a document from Milvus?",
    "What does the doctor command check?",
    "How is hybrid search fused?",
]


def bytes_estimate(messages: list[BaseMessage]) -> int:
    total = 0
    for message in messages:
        total += 4 + math.ceil(len(message.text.encode("utf-8")) / 3.5)
        for call in getattr(message, "tool_calls", None) or []:
            total += math.ceil(len((call["name"] + str(call["args"])).encode("utf-8")) / 3.5)
    return total


def content_estimate(messages: list[BaseMessage]) -> int:
    from agent.llm.servers.harmony_tokens import count_text

    total = 0
    for message in messages:
        total += 4 + count_text(message.text)
        for call in getattr(message, "tool_calls", None) or []:
            total += count_text(call["name"]) + count_text(str(call["args"]))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="1 question (CI)")
    args = parser.parse_args()

    from agent.documents import ingest
    from agent.nodes.budget import count_message_tokens
    from agent.offline.policy import OfflinePolicy
    from agent.settings import Context, Settings
    from graphs.research import build_graph
    from tests.support.harmony_reference import reference_count
    from tools.fetch import fetch_doc
    from tools.search import milvus_search

    requests: list[list[BaseMessage]] = []

    class Recording(OfflinePolicy):
        """The offline policy, recording each request it is sent (as the server would get it)."""

        def reply(self, messages: list[BaseMessage], tool_names: list[str] | None) -> AIMessage:
            requests.append(list(messages))
            return super().reply(messages, tool_names)

    folder = Path(tempfile.mkdtemp(prefix="ra-tokens-"))
    uri = str(folder / "milvus.db")
    ingest([ROOT / "docs"], Settings(milvus_uri=uri))
    tools = [milvus_search, fetch_doc]
    specs = [convert_to_openai_tool(t) for t in tools]
    graph = build_graph(Recording(), tools=tools)
    questions = QUESTIONS[:1] if args.smoke else QUESTIONS
    effort = "medium"
    rows = []
    for question in questions:
        before = len(requests)
        graph.invoke({"question": question}, context=Context(provider="offline", milvus_uri=uri))
        for messages in requests[before:]:
            rows.append(
                {
                    "exact": reference_count(str(folder), messages, specs, effort),
                    "counted": count_message_tokens(messages, specs, effort),
                    "bytes/3.5": bytes_estimate(messages),
                    "o200k content only": content_estimate(messages),
                }
            )
    exact = sum(r["exact"] for r in rows)
    print(
        f"# {len(questions)} questions over docs/, {len(rows)} model requests, "
        f"{exact} exact tokens in all (openai-harmony rendering, o200k_harmony)"
    )
    print("\n| count | tokens (sum) | / exact | worst request error |\n|---|---:|---:|---:|")
    for name in ("counted", "bytes/3.5", "o200k content only"):
        total = sum(r[name] for r in rows)
        worst = max(abs(r[name] - r["exact"]) / r["exact"] for r in rows)
        label = "**the budget's count**" if name == "counted" else name
        print(f"| {label} | {total} | {total / exact:.4f}x | {worst:.2%} |")
    print("\ngoal: the budget's count within 1% of exact on every request")
    print("per-request figures:", json.dumps(rows[:3]), "...")


if __name__ == "__main__":
    main()
