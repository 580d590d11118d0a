"""framework/config"""
