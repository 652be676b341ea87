"""AWS control plane of the graph cluster: registry tables and the Lambda handlers CDK packages."""
