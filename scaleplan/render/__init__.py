"""scaleplan.render"""
