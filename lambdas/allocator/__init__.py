"""Allocator/router: places graphs on instances, releases them, answers route lookups."""
