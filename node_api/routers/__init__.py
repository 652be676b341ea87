"""Thin HTTP handlers: each calls one method of a service or the backend (docs/architecture.md)."""
