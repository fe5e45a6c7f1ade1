"""scaleplan: a scaling planner and cost optimizer for ML inference on Kubernetes.

Data flows one way: spec -> profile -> catalog -> solve -> plan -> render -> check.
Importing this package is cheap: heavy modules (pulp, boto3, torch, kubernetes_validate) are
imported only by the functions that need them.
"""

from scaleplan._version import __version__

__all__ = ["__version__"]
