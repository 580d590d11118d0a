"""framework/core"""
