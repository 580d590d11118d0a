"""framework/routing"""
