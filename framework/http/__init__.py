"""framework/http"""
