"""The API's views, one module per resource: each parses the query, checks the role (costing/access.py),
calls one query or service and renders JSON."""
