"""Node-side cluster membership: API keys from Secrets Manager and instance-registry registration.

Importing this package has no side effects; the app wires the pieces in at start-up.
"""
