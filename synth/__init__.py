"""The offline runtime: the Pulumi program under the SDK's mock runtime, with AWS-shaped (or,
for a first preview, unknown) computed outputs, and the inventory it registered. `tools/`
(synth, policy gate, plan diff) and `tests/` both build on it; it imports neither."""
