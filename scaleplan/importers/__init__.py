"""scaleplan.importers"""
