"""Metrics → what a reader sees: formatting, charts, HTML and the PDF."""
