# docs/preflight.md#records-and-history: the repository at the top of the page after its failed run,
# then a second run once bob has released src/api.py
. "$DOCS_PROJECT/tests/docs_setups/preflight-story.sh"
maf-preflight > /dev/null || test $? -eq 1
maf-lease release src/api.py --agent bob > /dev/null
maf-preflight > /dev/null
