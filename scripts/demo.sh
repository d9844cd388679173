#!/bin/sh
# Quick start 1: set up, fill an embedded SQLite ledger with the demo world, then serve it.
# Set LEDGER_DEMO_SERVE=no to stop after the demo instead of starting the server.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
export LEDGER_STORE="${LEDGER_STORE:-sqlite:///demo/ledger.db}"
# Who may sign in to the console as the operator (the demo prints a development sign-in link).
export LEDGER_OPERATOR_SUBJECTS="${LEDGER_OPERATOR_SUBJECTS:-operator@ledger.example}"
PORT="${LEDGER_PORT:-8000}"
mkdir -p demo
.venv/bin/ledger init
if [ -s demo/demo.json ]; then
    # The demo fills a fresh ledger once (a second `ledger demo` refuses): reuse it.
    echo "Reusing the demo world in $LEDGER_STORE (remove the demo/ folder to start over)"
else
    .venv/bin/ledger demo --json > demo/demo.json.new && mv demo/demo.json.new demo/demo.json
fi
.venv/bin/python - <<'PY'
import json
made = json.load(open("demo/demo.json"))
print("Demo world written (ids in demo/demo.json):")
print("  issuers:", made["issuers"])
print("  amended credential:", made["credentials"]["amended"])
print("  revoked credential:", made["credentials"]["revoked"])
PY
AMENDED=$(.venv/bin/python -c "import json; print(json.load(open('demo/demo.json'))['credentials']['amended'])")
UNIVERSITY=$(.venv/bin/python -c "import json; print(json.load(open('demo/demo.json'))['issuers']['university'])")
LEARNER=$(.venv/bin/python -c "import json; print(json.load(open('demo/demo.json'))['learners'][0])")
echo
echo "The signed history of the amended credential:"
.venv/bin/ledger history "$AMENDED"
echo
echo "A signed checkpoint of the whole log, then a full verification of the log:"
.venv/bin/ledger checkpoint
.venv/bin/ledger verify --quiet
LEARNER_TOKEN=$(.venv/bin/ledger token --role learner --subject "$LEARNER")
ADMIN_TOKEN=$(.venv/bin/ledger token --role administrator --subject alice@uni.example --issuer "$UNIVERSITY")
AUDITOR_TOKEN=$(.venv/bin/ledger token --role auditor --subject auditor@example)
cat <<INFO

Where to go (development tokens, valid one hour):
  API documentation:  http://127.0.0.1:$PORT/docs
  a learner's backpack:
    curl -H "Authorization: Bearer $LEARNER_TOKEN" http://127.0.0.1:$PORT/v1/me/backpack
  what the university issued:
    curl -H "Authorization: Bearer $ADMIN_TOKEN" http://127.0.0.1:$PORT/v1/issuers/$UNIVERSITY/credentials
  the signed log, for auditors:
    curl -H "Authorization: Bearer $AUDITOR_TOKEN" http://127.0.0.1:$PORT/v1/audit/log
  the university's revocation list (public):
    curl http://127.0.0.1:$PORT/v1/status-lists/$UNIVERSITY/1/revocation
  the latest signed checkpoint of the log (public):
    curl http://127.0.0.1:$PORT/v1/log/checkpoint
INFO
.venv/bin/python - "$PORT" "$UNIVERSITY" "$LEDGER_OPERATOR_SUBJECTS" <<'PY'
import json, sys
from urllib.parse import quote
port, university, operator = sys.argv[1], sys.argv[2], sys.argv[3].split(",")[0].strip()
made = json.load(open("demo/demo.json"))
base = f"http://127.0.0.1:{port}"
first, fifth = made["learners"][0], made["learners"][4]
print(f"""
Pages (in a browser; add ?lang=nl for Dutch):
  start page:                      {base}/
  check a credential (public):     {base}/verify
  {first}'s shared credentials (public page, as on LinkedIn):
                                   {base}/v1/shared/{made["share_link"]["token"]}
  sign in as a demo learner (development only; press "Sign in for development"):
    {first} (consent, lookup, approved exemption):
                                   {base}/signin?subject={quote(first)}
    {fifth} (rejected exemption):  {base}/signin?subject={quote(fifth)}
  sign in as the demo employer (looks up with the consent link from {first}'s Consents page):
                                   {base}/signin?subject=hr%40employer.example&role=verifier
  sign in to the console as the university's administrator (achievements, CSV import, issued, claims):
                                   {base}/signin?subject=alice%40uni.example&role=administrator&issuer={university}
  sign in to the console as the operator (institutions, policies, keys):
                                   {base}/signin?subject={quote(operator)}
  sign in as an auditor (trails, time travel, checkpoints, verification):
                                   {base}/signin?subject=auditor%40example&role=auditor""")
PY
if [ "${LEDGER_DEMO_SERVE:-yes}" = "yes" ]; then
    echo
    echo "Serving on http://127.0.0.1:$PORT (Ctrl-C stops)"
    exec .venv/bin/ledger serve --port "$PORT"
fi
