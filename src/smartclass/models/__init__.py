"""smartclass.models"""
