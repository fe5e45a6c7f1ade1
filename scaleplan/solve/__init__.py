"""scaleplan.solve"""
