"""The embedded engines the suites run over: the one place that lists them (the `embedded_engine`
fixture in tests/conftest.py parametrizes over this)."""

EMBEDDED_ENGINES = ("kuzu", "ladybug")
