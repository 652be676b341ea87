"""Pieces shared by every control-plane Lambda: settings, AWS clients, results, observability."""
