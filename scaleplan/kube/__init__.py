"""The bottom layer that solve, render, check and simulate share about Kubernetes: node
allocatable and flavor behaviour (``capacity``), the name validators (``names``) and the
HTTPRoute's integer weights (``weights``). Pure functions; imports nothing above it."""
