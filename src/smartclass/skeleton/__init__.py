"""smartclass.skeleton"""
