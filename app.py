#!/usr/bin/env python3
"""CDK app entry: `npx cdk synth -c env=prod` (see docs/deploy.md) or in-process `python app.py`.

In-process, the templates go to ./cdk.out (as with the CLI; context from CDK_CONTEXT_JSON) and the
app says where it wrote them; under the CLI (which sets CDK_OUTDIR) it prints nothing of its own.
"""

import os

from cdk.nodejs import use_pinned_node

use_pinned_node()  # before aws_cdk: jsii starts its Node.js at that import

import aws_cdk as cdk  # noqa: E402

from cdk.assembly import build_app  # noqa: E402

under_cli = "CDK_OUTDIR" in os.environ
app = cdk.App(outdir=None if under_cli else "cdk.out")
build_app(app)
assembly = app.synth()
if not under_cli:
    outdir = os.path.abspath(assembly.directory)
    templates = sorted(os.path.join(outdir, s.template_file) for s in assembly.stacks)
    print(f"wrote {len(templates)} stack templates to {outdir}:")
    for template in templates:
        print(f"  {template}")
