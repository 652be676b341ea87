"""Moved: the tokenizer is node_api/security/cypher_tokens.py, the statement policy
node_api/security/policy.py. Kept so existing imports keep working."""

from node_api.security.cypher_tokens import Token, split_script, split_statements, tokenize

__all__ = ["Token", "split_script", "split_statements", "tokenize"]
