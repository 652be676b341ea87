"""The control plane's HTTP API: graph routing and placement as a FastAPI app, served on Lambda by
Mangum behind a function URL (IAM auth) and under uvicorn in the local cluster (SigV4 checked here)."""
