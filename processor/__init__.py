"""starbatch: rate grassroots Party branches from township workbooks, by rulebook."""

__version__ = "0.1.0"
