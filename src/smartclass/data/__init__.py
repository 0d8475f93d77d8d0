"""smartclass.data"""
