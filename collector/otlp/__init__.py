"""OTLP decoding: request bytes → protobuf messages → span rows. Pure functions."""
