"""The bottom layer that solve, render, check, simulate and the spec checks share about
Kubernetes: node allocatable and flavor behaviour (``capacity``), the name validators
(``names``), the checks of strings bound for a manifest and the labels scaleplan reserves
(``safety``), the HTTPRoute's integer weights (``weights``) and its backends, the allocations
that share one Service (``backends``). Pure functions; imports nothing above it."""
