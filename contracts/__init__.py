"""What the node, the clients, the control-plane Lambdas and the CDK stacks must agree on, in one place.

- `contracts.enums`: node types and the statuses of instances, graphs and volumes;
- `contracts.registry`: the DynamoDB registry tables (specs CDK builds, item shapes everyone reads);
- `contracts.api_keys`: the node API key's format and its Secrets Manager encoding;
- `contracts.metrics`: CloudWatch namespaces, metric names and dimensions;
- `contracts.router`: the router API's request and response models (server and client).

Plain data and pydantic models only: importing it talks to nothing and pulls in no AWS SDK.
"""
