"""AWS CDK (v2) stacks that deploy the graph cluster: registries, volumes, writer tiers, shared master.

`cdk.app.build_app` assembles every stack of one environment; `app.py` at the repository root is the
CLI entry (`cdk synth`) and also runs in-process (`python app.py`).
"""
