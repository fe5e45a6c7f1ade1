"""Profiles: measured or estimated latency/throughput/memory per accelerator and batch size."""
