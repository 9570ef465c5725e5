"""Renderers of Reports: JSON, Markdown feedback, the class gradebook."""

from .gradebook import write_gradebook
from .json_report import write_json
from .markdown import render_markdown, write_markdown

__all__ = ["render_markdown", "write_gradebook", "write_json", "write_markdown"]
