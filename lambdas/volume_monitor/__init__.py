"""Volume monitor: expands graph volumes whose usage (published by the node) crosses the threshold."""
