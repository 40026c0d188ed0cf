"""reportgen: scheduled HTML/PDF reports on carts, funnels, experiments and marketing."""

__version__ = "0.1.0"
