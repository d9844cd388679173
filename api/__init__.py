"""The HTTP entry point (FastAPI): routes per caller role, authentication, problems.

May import anything of ours but the CLI. Nothing of ours imports it but the CLI (to
serve it).
"""
