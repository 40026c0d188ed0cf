"""The demo shop: a generated, behaviourally plausible dataset to try reportgen on."""

from reportgen.demo.shop import DemoSummary, generate_demo

__all__ = ["DemoSummary", "generate_demo"]
