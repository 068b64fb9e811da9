"""The ground floor: types, errors, settings, the domain (tensions, systems), text handling,
the catalog's records and safety rules. Imports nothing else from the package.
"""
