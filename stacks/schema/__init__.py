"""Typed stack config: every environment difference lives here, validated up front."""

from .network import NetworkConfig, SubnetPrefixes
from .platform import PlatformConfig, TagsConfig

__all__ = ["NetworkConfig", "PlatformConfig", "SubnetPrefixes", "TagsConfig"]
