"""Per-environment composition: typed config in, components out."""

from .loader import ConfigError, load_platform_config
from .platform import build_platform
from .schema import PlatformConfig

__all__ = ["ConfigError", "PlatformConfig", "build_platform", "load_platform_config"]
