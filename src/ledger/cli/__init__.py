"""The ``ledger`` command: every CLI command, at the top of the import graph.

May import anything of ours: the application, the read side, the HTTP server (to run
it), audit, transparency and standards. Nothing imports the CLI.
"""
