"""Shipped catalogs (installed as the ``scaleplan.catalogs`` package data)."""
