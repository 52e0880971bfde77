# docs/storage.md#the-memory-runtime: the commit hook installed as a plain git hook, a change staged, no database
printf '#!/bin/sh\nexec maf-reservations\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
echo demo > README.md && git add README.md
