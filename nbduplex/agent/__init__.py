"""The background agent: delegated tasks run asynchronously while the conversation goes on.

    agent = BackgroundAgent(documents={"notes": "The meeting is on Friday at 10."})
    session = Session(source, policy, agent=agent)

Tasks go to tools (a registry of plain typed Python functions) through a router (rules, or any
OpenAI-compatible chat endpoint with `OpenAIChatRouter`); answers re-enter the stream as
`TextEvent("agent", ...)`, and every task and tool call is a span in the trace.
"""

from nbduplex.agent.agent import BackgroundAgent
from nbduplex.agent.asr import Transcriber
from nbduplex.agent.builtin import DocumentIndex, builtin_tools, calculator, clock, timer
from nbduplex.agent.llm import OpenAIChatRouter
from nbduplex.agent.router import Answer, Job, Router, RuleRouter, ToolCall, find_expression, plan
from nbduplex.agent.task import AgentTask, HistoryEntry
from nbduplex.agent.tools import Tool, ToolRegistry, ToolResult, tool

__all__ = [
    "Transcriber",
    "AgentTask",
    "Answer",
    "BackgroundAgent",
    "DocumentIndex",
    "HistoryEntry",
    "Job",
    "OpenAIChatRouter",
    "Router",
    "RuleRouter",
    "Tool",
    "ToolCall",
    "ToolRegistry",
    "ToolResult",
    "builtin_tools",
    "calculator",
    "clock",
    "find_expression",
    "plan",
    "timer",
    "tool",
]
