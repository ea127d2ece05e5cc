"""Reusable Pulumi components of the Smart Dairy platform.

Each module holds one `pulumi.ComponentResource` (type token `smartdairy:<module>:<Name>`) or the
pure functions it is built from. Components take numbers and flags, never an environment name;
see docs/CONVENTIONS.md.
"""
