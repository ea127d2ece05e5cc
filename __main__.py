"""smartdairy-platform: validate this stack's config, build the platform, export its outputs."""

import pulumi

from stacks import build_platform, load_platform_config

config = load_platform_config()
for output_name, value in build_platform(config).items():
    pulumi.export(output_name, value)
