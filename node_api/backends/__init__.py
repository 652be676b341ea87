"""Graph engines behind the node API: `base.GraphBackend` is the interface, `factory.create_backend`
picks one. Kept free of imports: engine worker processes import modules of this package and must not
pay for the node's (pydantic, pyarrow)."""
