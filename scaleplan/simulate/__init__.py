"""scaleplan.simulate"""
