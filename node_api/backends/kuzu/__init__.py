from node_api.backends.kuzu.backend import KuzuBackend

__all__ = ["KuzuBackend"]
