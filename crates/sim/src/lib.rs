//! Deterministic scenario generator for the demo, tests and benchmarks.
