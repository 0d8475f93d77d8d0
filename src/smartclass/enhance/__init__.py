"""smartclass.enhance"""
