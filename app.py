#!/usr/bin/env python3
"""CDK app entry: `cdk synth -c env=prod` (see docs/deploy.md) or in-process `python app.py`."""

import aws_cdk as cdk

from cdk.assembly import build_app

app = cdk.App()
build_app(app)
app.synth()
