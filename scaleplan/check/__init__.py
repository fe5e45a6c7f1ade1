"""scaleplan.check"""
