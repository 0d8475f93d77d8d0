"""smartclass.metrics"""
